"""Two processes writing different trials of one study at the same time lose nothing, on both
backends, even when both start on a database without the schema."""

import subprocess
import sys

from sqlalchemy import text

from archscale.store import make_engine

TRIALS, EPOCHS = 20, 10
WORKER = """
import sys, time
from pathlib import Path
from archscale.store import Writer
from archscale.vocabulary import Phase, RunKey

url, seed, barrier = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
(barrier / f"ready-{seed}").touch()
deadline = time.monotonic() + 60
while len(list(barrier.glob("ready-*"))) < 2 and time.monotonic() < deadline:
    time.sleep(0.01)
with Writer(url, upgrade_db=True, batch_size=50) as writer:
    study = writer.ensure_study("shared", "name: shared\\n")
    writer.upsert_architecture("hash", "2_02_002", "mlp")
    for number in range(int(sys.argv[4])):
        key = RunKey("hash", "tuned", Phase.SEARCH, seed, number)
        trial = writer.upsert_trial(study, key, "tuned", status="running")
        for epoch in range(1, int(sys.argv[5]) + 1):
            writer.add_epoch(trial, epoch, val_accuracy=epoch / 100)
        writer.upsert_trial(study, key, "tuned", status="completed")
"""


def test_two_writer_processes_lose_nothing(db_url, tmp_path):
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, db_url, str(seed), str(tmp_path), str(TRIALS), str(EPOCHS)],
            stderr=subprocess.PIPE, text=True,
        )
        for seed in (0, 1)
    ]
    for worker in workers:
        _, stderr = worker.communicate(timeout=120)
        assert worker.returncode == 0, stderr
    engine = make_engine(db_url)
    with engine.connect() as connection:
        scalar = lambda sql: connection.execute(text(sql)).scalar_one()  # noqa: E731
        assert scalar("SELECT count(*) FROM archscale_study") == 1
        assert scalar("SELECT count(*) FROM archscale_architecture") == 1
        assert scalar("SELECT count(*) FROM archscale_trial WHERE status = 'completed'") == 2 * TRIALS
        assert scalar("SELECT count(*) FROM archscale_epoch") == 2 * TRIALS * EPOCHS
    engine.dispose()
