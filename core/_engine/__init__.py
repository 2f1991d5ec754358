"""The lifecycle engine: the state machine's steps (backend, frontend, browsers), the undo stack, worker processes."""
