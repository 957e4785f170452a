"""What people read of the warehouse: the data catalog site, the KPI report, the text status."""
