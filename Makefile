# Sluice — the two commands: `make demo` and `make test`. Both install what they need.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build demo test test-unit test-sanitize bench clean fuzz format-check

all: build

deps:
	@scripts/install-deps --npm

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD) -j $(JOBS)

demo: build
	@scripts/demo

# Every test: unit, spec tests as data, CLI end-to-end, oracle comparisons, the layering check;
# then the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) test-sanitize

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit -j $(JOBS)

# The sanitizer build compiles each module as a few large translation units (a unity build) with
# line tables only: it builds in about half the time of a file-by-file build.
test-sanitize: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON -DSLUICE_BENCH=OFF \
	  -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16 -DCMAKE_CXX_FLAGS_DEBUG=-g1 $(CMAKE_FLAGS) >/dev/null
	ninja -C $(ASAN_BUILD) -j $(JOBS) unit_tests
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -L unit -j $(JOBS)

bench: build
	@bench/run

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

# The C++ lines changed since FORMAT_BASE (default HEAD: what is not committed yet) against
# .clang-format, e.g. `make format-check FORMAT_BASE=origin/main`. Not part of `make test`.
FORMAT_BASE ?= HEAD
format-check:
	@scripts/check-format $(FORMAT_BASE)

# libFuzzer targets (clang-14), each run for FUZZ_SECONDS on its seed corpus.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 30
fuzz: deps
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DSLUICE_FUZZ=ON -DSLUICE_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	ninja -C $(FUZZ_BUILD) -j $(JOBS) json_decoder_fuzz csv_decoder_fuzz expr_fuzz spec_fuzz parquet_reader_fuzz http_request_fuzz template_fuzz jwt_fuzz
	for t in json_decoder:json csv_decoder:csv expr:expr spec:spec parquet_reader:parquet http_request:http template:template jwt:jwt; do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$${t#*:}; \
	  $(FUZZ_BUILD)/tests/fuzz/$${t%%:*}_fuzz -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    $(FUZZ_BUILD)/corpus/$${t#*:} tests/fuzz/corpus/$${t#*:} || exit 1; \
	done
