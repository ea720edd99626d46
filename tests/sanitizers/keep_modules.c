// keep_modules.c: preloaded (LD_PRELOAD) into the mpi tests of the ASan build by tests/sanitize. Open
// MPI loads its components (mca_*.so) with dlopen and closes them in MPI_Finalize; LeakSanitizer
// checks at exit, when their code is gone, so it cannot name the allocations they keep, and its
// suppressions (tests/sanitizers/lsan.supp) cannot match them. A dlclose that does nothing keeps
// every module mapped until the process ends: each report then names its library.
int dlclose(void* handle) {
  (void)handle;
  return 0;
}
