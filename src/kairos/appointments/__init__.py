"""The appointments service: domains, schedules, free slots, requests, decisions and event history."""
