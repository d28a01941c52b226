"""Outputs of the event stream (RabbitMQ, the relay) and incoming media kept, against real servers."""
