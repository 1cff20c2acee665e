"""What an operator watches: readiness (`readiness.py`, /api/ready) and metrics (`metrics.py`, /metrics)."""
