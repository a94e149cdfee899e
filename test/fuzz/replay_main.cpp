// SPDX-License-Identifier: MIT
// Corpus replay for builds without libFuzzer (gcc, ctest): runs the target's
// LLVMFuzzerTestOneInput on every file named on the command line, or found
// (recursively, in sorted order) under every directory named, as Zeek's and
// {fmt}'s replay drivers do. An invariant failure or a sanitizer report aborts
// the process, so the test fails; the last "replay:" line names the input.
//
//   fuzz_decode_replay testdata/fuzz-corpus/fuzz_decode testdata/regress/fuzz_decode
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

bool replay(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", p.c_str());
    return false;
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  // Exactly `size` bytes on the heap, as libFuzzer hands them over.
  const std::size_t size = bytes.size();
  const std::unique_ptr<std::uint8_t[]> buf(new std::uint8_t[size == 0 ? 1 : size]);
  if (size > 0) std::memcpy(buf.get(), bytes.data(), size);
  std::fprintf(stderr, "replay: %s (%zu bytes)\n", p.c_str(), size);
  LLVMFuzzerTestOneInput(size == 0 ? nullptr : buf.get(), size);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = 0;
  bool ok = true;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg(argv[i]);
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::recursive_directory_iterator(arg))
        if (e.is_regular_file() && e.path().filename().string().front() != '.')
          files.push_back(e.path());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) {
        ok = replay(f) && ok;
        ++n;
      }
    } else if (fs::exists(arg, ec)) {
      ok = replay(arg) && ok;
      ++n;
    } else {
      std::fprintf(stderr, "replay: %s does not exist\n", argv[i]);
      ok = false;
    }
  }
  std::printf("replayed %zu inputs\n", n);
  return ok && n > 0 ? 0 : 1;
}
