"""Client drivers: programs that send one message with one client and print the outcome as JSON."""
