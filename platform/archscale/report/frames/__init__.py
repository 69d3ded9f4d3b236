"""Frames, the report's first stage: the store's rows and plan for one study, read once (`read`), and
what they say without estimating anything: arms, architectures, search charges, score cubes where a
failed final run scores chance (`study`), the metric a comparison scores by (`metrics`) and the
protocol the stored study ran (`protocol`). This stage is the only one that reads the database; it
imports no other stage of the report."""
