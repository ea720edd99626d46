#pragma once
// Timing shared by the MPI benchmarks: every repetition starts together on every rank and counts
// as long as the slowest rank took; the first run warms up and is not counted.

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <vector>

namespace atrous::bench {

inline double median(std::vector<double> values) {
  std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
  return values[values.size() / 2];
}

// Median over `repetitions` of the slowest rank's seconds for run(), after one warm-up run.
template <class Run>
double median_seconds(MPI_Comm comm, int repetitions, Run run) {
  std::vector<double> times;
  for (int i = 0; i <= repetitions; ++i) {
    MPI_Barrier(comm);
    const auto start = std::chrono::steady_clock::now();
    run();
    double local = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
           slowest = 0;
    MPI_Allreduce(&local, &slowest, 1, MPI_DOUBLE, MPI_MAX, comm);
    if (i > 0) times.push_back(slowest);
  }
  return median(times);
}

}  // namespace atrous::bench
