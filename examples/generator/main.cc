// sluice-gen: writes seeded web-shop data (see web_shop_generator.h and --help).
#include <cstdio>
#include <string_view>
#include <vector>

#include "sluice/base/clock.h"
#include "web_shop_generator.h"

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  for (std::string_view a : args) {
    if (a == "--help" || a == "-h") {
      std::fputs(sluice::examples::GeneratorUsage().c_str(), stdout);
      return 0;
    }
  }
  auto options = sluice::examples::ParseGeneratorArgs(args);
  if (!options.ok()) {
    std::fprintf(stderr, "sluice-gen: %s\n", options.status().message().c_str());
    return 2;
  }
  const auto& clock = sluice::SystemClock::Get();
  int64_t t0 = clock.MonotonicMicros();
  auto report = sluice::examples::GenerateWebShop(*options);
  if (!report.ok()) {
    std::fprintf(stderr, "sluice-gen: %s\n", report.status().ToString().c_str());
    return report.status().IsUserError() ? 2 : 1;
  }
  double seconds = static_cast<double>(clock.MonotonicMicros() - t0) / 1e6;
  for (const auto& f : report->files) {
    std::fprintf(stderr, "%-20s %10lld lines %12lld bytes  valid %lld, duplicates %lld, invalid %lld\n",
                 f.file.c_str(), static_cast<long long>(f.lines), static_cast<long long>(f.bytes),
                 static_cast<long long>(f.valid), static_cast<long long>(f.duplicates),
                 static_cast<long long>(f.invalid_total()));
  }
  std::fprintf(stderr, "written to %s in %.2f s\n", options->out_dir.c_str(), seconds);
  return 0;
}
