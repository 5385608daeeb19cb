"""``MemberTable`` lives with the audience snapshot it reads (``airflow_provider_cio.audiences.member_table``);
the sync core takes it from there. This name stays for existing imports."""

from airflow_provider_cio.audiences.member_table import BATCH_ROWS, MemberTable

__all__ = ["BATCH_ROWS", "MemberTable"]
