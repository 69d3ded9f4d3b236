"""Renderers, the report's last stage: a comparison as a terminal table, markdown, CSV, JSON, a
self-contained HTML page and figures (`output` dispatches by format), and the reproduction as its page
and JSON. A renderer formats what the claims and statistics hold and never computes a statistic; it
may import every earlier stage."""
