"""The contract between the processes: queue names, task names and message format."""
