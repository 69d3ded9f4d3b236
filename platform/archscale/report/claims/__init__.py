"""Claims, the report's third stage: what the statistics say. A study's comparison (`comparison`: its
arms, pairs and statistics with the notes that qualify them in words, and what else differs between two
arms, `recipes`) and the paper's reproduction (`reproduction`: which statistic of which stored study
measures each claim, judged by the one verdict rule, `verdict`). Claims and verdict rules are data and
functions; nothing here renders a format (table, markdown, JSON, HTML, figures). Imports only the
frames and statistics stages."""
