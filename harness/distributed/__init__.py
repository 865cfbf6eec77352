"""Campaigns, detectors and simulations on a Ray cluster (``dfi run|defend|simulate --executor ray``).

Ray does the distribution; this package only says what runs where:

* :mod:`.cluster` -- connect to a cluster, or start a local one limited to this machine's CPUs;
  ``import ray`` happens there, lazily, so the package imports without ray installed;
* :mod:`.shards` -- the campaign's fixed shard plan, the shards' journals and their deterministic
  merge into the campaign's own journal;
* :mod:`.worker` -- one shard on one worker process: a :class:`harness.campaign.CampaignRunner`
  over the shard's probes, journaling as it goes, with one backend (one model session) per process;
* :mod:`.ledger` -- the cluster's single-flight call cache, so no vendor call is made twice;
* :mod:`.ratelimit` -- one rate limiter per vendor account for the whole cluster (a Ray actor around
  :class:`harness.ratelimit.TokenBucket`);
* :mod:`.analysis` -- the campaign's face analysis (crop, detection, embedding) as a Ray Data batch
  stage, one model session per actor, handed to the shards;
* :mod:`.detect` -- ``dfi defend``'s detectors as a Ray Data batch stage;
* :mod:`.campaign` -- the driver: plan, face stage, submit, merge;
* :mod:`.simulate` -- the streamed simulation with one dataset per Ray task.
"""

from harness.distributed.cluster import RaySettings, RayUnavailableError

__all__ = ["RaySettings", "RayUnavailableError"]
