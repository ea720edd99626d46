#pragma once
// Timing shared by the MPI benchmarks: every repetition starts together on every rank and counts
// as long as the slowest rank took; the first run warms up and is not counted. Two contenders are
// timed interleaved (median_seconds_of_both), so that a machine whose speed drifts from one second
// to the next (shared cores, a busy network stack) treats both alike.

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <vector>

namespace atrous::bench {

inline double median(std::vector<double> values) {
  std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
  return values[values.size() / 2];
}

// One run of run(), started together on every rank: the slowest rank's seconds.
template <class Run>
double slowest_rank_seconds(MPI_Comm comm, Run& run) {
  MPI_Barrier(comm);
  const auto start = std::chrono::steady_clock::now();
  run();
  double local = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), slowest = 0;
  MPI_Allreduce(&local, &slowest, 1, MPI_DOUBLE, MPI_MAX, comm);
  return slowest;
}

// Median over `repetitions` of the slowest rank's seconds for run(), after one warm-up run.
template <class Run>
double median_seconds(MPI_Comm comm, int repetitions, Run run) {
  std::vector<double> times;
  for (int i = 0; i <= repetitions; ++i) {
    const double seconds = slowest_rank_seconds(comm, run);
    if (i > 0) times.push_back(seconds);
  }
  return median(times);
}

struct PairOfMedians {
  double first = 0;
  double second = 0;
};

// The medians of `repetitions` timings of each of two runs, taken in turn (first, second; then
// second, first; ...), after one warm-up run of each.
template <class RunFirst, class RunSecond>
PairOfMedians median_seconds_of_both(MPI_Comm comm, int repetitions, RunFirst first, RunSecond second) {
  std::vector<double> firsts, seconds;
  for (int i = 0; i <= repetitions; ++i) {
    double a = 0, b = 0;
    if (i % 2 == 0) {
      a = slowest_rank_seconds(comm, first);
      b = slowest_rank_seconds(comm, second);
    } else {
      b = slowest_rank_seconds(comm, second);
      a = slowest_rank_seconds(comm, first);
    }
    if (i > 0) firsts.push_back(a), seconds.push_back(b);
  }
  return {median(firsts), median(seconds)};
}

}  // namespace atrous::bench
