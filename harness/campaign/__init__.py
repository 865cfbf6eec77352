"""Campaigns: run a dataset against vendors, resumably, and keep every answer and error."""

from harness.campaign.cache import CallCache, CallResult
from harness.campaign.cost import CostLine, estimate_cost, price_per_1000, total_dollars
from harness.campaign.journal import Journal, JournalError
from harness.campaign.prepare import ImagePreparer, PreparedImage
from harness.campaign.runner import CampaignOptions, CampaignRunner, CampaignSummary

__all__ = [
    "price_per_1000", "CallCache", "CallResult", "CampaignOptions", "CampaignRunner", "CampaignSummary",
    "CostLine", "ImagePreparer", "Journal", "JournalError", "PreparedImage",
    "estimate_cost", "total_dollars",
]
