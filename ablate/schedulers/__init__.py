"""The three schedulers behind `ablate.jobs.Scheduler`, one per kind of sweep:

- `local_grid.LocalGrid`: a grid, in order, in this process;
- `shared_queue.SharedQueue`: a grid shared by many workers through an Optuna
  storage, each point claimed exactly once (`--storage`, `--workers`);
- `optuna_search.OptunaSearch`: a `kind: optuna` space, one study per scientific point.

`ablate.orchestrate` picks one and runs the one sweep loop around it.
"""
