#pragma once
// CounterRng: a counter-based random generator (Philox4x32-10, Salmon et al., SC'11, as in
// Random123, cuRAND and JAX).
//
// A stream is named by a key (seed, epoch, sample index) rather than carried as state, so the
// random decisions for one sample are the same whichever rank draws them and however many samples
// were drawn before: N ranks augment a sample exactly as one rank does, and a resumed run needs only
// (epoch, position). Draws within a stream are numbered; draw i of a stream is always the same.

#include <array>
#include <cstdint>

namespace atrous {

// One Philox4x32 block: 10 rounds over the counter with the key.
std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key);

class CounterRng {
 public:
  // The stream of (seed, epoch, index); `purpose` separates independent streams of one sample
  // (augmentation, dropout, ...).
  CounterRng(uint64_t seed, uint64_t epoch, uint64_t index, uint32_t purpose = 0);

  uint32_t next_u32();
  // Uniform in [0, 1), 24 random bits.
  float uniform();
  // Uniform integer in [0, bound), bound > 0, without modulo bias.
  uint64_t below(uint64_t bound);

 private:
  std::array<uint32_t, 2> key_;
  std::array<uint32_t, 4> counter_;
  std::array<uint32_t, 4> block_{};
  int used_ = 4;  // all of block_ consumed
};

}  // namespace atrous
