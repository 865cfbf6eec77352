"""Library entry points for the ``dfi`` jobs, one module per job.

Each job is a plain function with typed keyword arguments that returns a small result dataclass
(the paths it wrote and the summary objects the caller may want to show). Jobs never print and never
import click or ``harness.cli``; progress is reported through optional callbacks, and user errors
are raised as :class:`harness.errors.DfiError` subclasses. ``harness.cli`` parses flags, calls the
job and prints what it returns.

Layering: ``harness.jobs`` sits above ``harness.report`` (and everything else in ``harness``) and
below ``harness.cli``; only ``harness.cli`` imports it.

- :mod:`harness.jobs.run`: :func:`~harness.jobs.run.run_campaign` (``dfi run``)
- :mod:`harness.jobs.simulate`: :func:`~harness.jobs.simulate.run_simulation` (``dfi simulate``)
- :mod:`harness.jobs.defend`: :func:`~harness.jobs.defend.measure_defense` (``dfi defend``)
- :mod:`harness.jobs.compare`: :func:`~harness.jobs.compare.compare_result_tables`,
  :func:`~harness.jobs.compare.compare_recorded_calls` (``dfi compare tables|calls``)
- :mod:`harness.jobs.calibrate`: :func:`~harness.jobs.calibrate.calibrate_profile` (``dfi calibrate``)
- :mod:`harness.jobs.sweep`: :func:`~harness.jobs.sweep.run_sweep` (``dfi sweep``)
- :mod:`harness.jobs.bench`: :func:`~harness.jobs.bench.run_bench` (``dfi bench``)
- :mod:`harness.jobs.study`: :func:`~harness.jobs.study.run_study` (``dfi study``)
- :mod:`harness.jobs.vendorfit`: :func:`~harness.jobs.vendorfit.fit_models`,
  :func:`~harness.jobs.vendorfit.validate_models`, :func:`~harness.jobs.vendorfit.write_profile_set`
  (``dfi vendorfit fit|validate|profile``)
"""
