"""The server's Prometheus metrics: its own instruments, the fleet gauges read from the
database at scrape time, what a scrape returns, and the optional token-free listener
(docs/metrics.md). The DHCP agent's metrics are agent/metrics.py."""
