#include "atrous/core/counter_rng.h"

namespace atrous {
namespace {

constexpr uint32_t multiplier_0 = 0xD2511F53, multiplier_1 = 0xCD9E8D57;
constexpr uint32_t weyl_0 = 0x9E3779B9, weyl_1 = 0xBB67AE85;

void mulhilo(uint32_t a, uint32_t b, uint32_t& high, uint32_t& low) {
  const uint64_t product = static_cast<uint64_t>(a) * b;
  high = static_cast<uint32_t>(product >> 32);
  low = static_cast<uint32_t>(product);
}

// 64-bit mixing (splitmix64's finaliser) to spread (seed, epoch) over the key.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key) {
  for (int round = 0; round < 10; ++round) {
    if (round > 0) key = {key[0] + weyl_0, key[1] + weyl_1};
    uint32_t high_0, low_0, high_1, low_1;
    mulhilo(multiplier_0, counter[0], high_0, low_0);
    mulhilo(multiplier_1, counter[2], high_1, low_1);
    counter = {high_1 ^ counter[1] ^ key[0], low_1, high_0 ^ counter[3] ^ key[1], low_0};
  }
  return counter;
}

CounterRng::CounterRng(uint64_t seed, uint64_t epoch, uint64_t index, uint32_t purpose) {
  const uint64_t stream_key = mix(seed ^ mix(epoch));
  key_ = {static_cast<uint32_t>(stream_key), static_cast<uint32_t>(stream_key >> 32)};
  // counter: [draw number, purpose, index low, index high]
  counter_ = {0, purpose, static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32)};
}

uint32_t CounterRng::next_u32() {
  if (used_ == 4) {
    block_ = philox4x32_10(counter_, key_);
    ++counter_[0];
    used_ = 0;
  }
  return block_[used_++];
}

float CounterRng::uniform() {
  return static_cast<float>(next_u32() >> 8) * (1.0f / 16777216.0f);
}

uint64_t CounterRng::below(uint64_t bound) {
  // Lemire's nearly divisionless method on 32-bit draws; bounds above 2^32 combine two draws.
  if (bound > 0xFFFFFFFFull) {
    const uint64_t wide = (static_cast<uint64_t>(next_u32()) << 32) | next_u32();
    const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    return wide < limit ? wide % bound : below(bound);
  }
  const uint32_t range = static_cast<uint32_t>(bound);
  uint64_t product = static_cast<uint64_t>(next_u32()) * range;
  uint32_t low = static_cast<uint32_t>(product);
  if (low < range) {
    const uint32_t threshold = static_cast<uint32_t>(-range) % range;
    while (low < threshold) {
      product = static_cast<uint64_t>(next_u32()) * range;
      low = static_cast<uint32_t>(product);
    }
  }
  return product >> 32;
}

}  // namespace atrous
