"""Sources → raw: one folder per source, production code only (the demo's fakes live in
thoth/demo). Each source's `job` is its one entry point."""


def unconfigured_sources() -> frozenset[str]:
    """Raw schemas of optional sources not configured here: GA4 without property ids, the
    landing zone without a bucket URL, the metrics scrape without URLs. Models reading them are
    skipped, not failed, while the warehouse holds none of their tables."""
    from pipelines.ga4.config import configured as ga4_configured
    from pipelines.metrics.config import configured as metrics_configured
    from thoth.core.config import LandingConfig, resolve

    absent = set() if ga4_configured() else {"ga4_raw"}
    if resolve(LandingConfig()).bucket_url is None:
        absent.add("landing_raw")
    if not metrics_configured():
        absent.add("metrics_raw")
    return frozenset(absent)
