"""The landing zone: one partitioned layout for every source, committed by a manifest written last."""
