# The two commands a user needs: `make run` and `make test`. Everything else is for developers.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all deps configure build run test asan fuzz bench images clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)

configure: $(BUILD)/build.ninja

build: deps configure
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/bin/voxgate serve $(ARGS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVOXGATE_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 900

# libFuzzer targets (clang) for every parser of untrusted input; FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 30
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVOXGATE_FUZZ=ON
	cmake --build build-fuzz -j $(JOBS) --target fuzz_targets
	scripts/run-fuzzers.sh build-fuzz/bin $(FUZZ_SECONDS)

bench: build
	scripts/run-benchmarks.sh $(BUILD)

# Container images from the Debian mirror, no registry (docs/CONTAINERS.md): IMAGES= a subset.
IMAGES ?=
images: build
	scripts/build-images.sh $(BUILD) $(IMAGES)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
