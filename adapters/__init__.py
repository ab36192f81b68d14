"""Edges the processes share: the broker (kombu, AMQP, Redis) and the infrastructure probes.

The core (`pipeline`) names tasks and queues and declares the ports; these modules
speak to the servers behind them."""
