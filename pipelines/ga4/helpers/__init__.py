"""The GA4 Data API (`client`) and turning its responses into typed Arrow tables (`convert`)."""
