// Linked once against each exported library alone: its usage requirements must be complete.
int main() {
  return 0;
}
