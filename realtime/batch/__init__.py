"""Batch rendering: many render jobs, and long single jobs cut into segments, spread over Ray workers."""
