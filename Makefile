# s3nbd — entry points. CMake builds underneath; see README.md.
#   make            build build/nbdkit-s3nbd-plugin.so and build/s3nbd
#   make deps       install the Debian packages (idempotent, root)
#   make check      the whole test suite: unit, ASan/UBSan unit, integration against Ceph RGW
#   make demo       the main job: local S3 server, a volume, ext4 on it, files written and read
#   make bench      s3nbd next to nbdkit memory/file, s3backer and raw S3 (BENCH_QUICK=1: ~2 min)
#   make bench-smoke  a tiny bench run (<60 s): does the harness work?
BUILD ?= build
ASAN_BUILD ?= build-asan
WERROR ?= $(if $(CI),ON,ON)
JOBS ?= $(shell nproc)

.PHONY: all deps build unit-tests check check-unit check-asan check-integration demo clean install \
        bench bench-deps bench-build bench-smoke

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DS3NBD_WERROR=$(WERROR) >/dev/null

build: $(BUILD)/Makefile
	@$(MAKE) --no-print-directory -C $(BUILD) -j$(JOBS) nbdkit-s3nbd-plugin s3nbd

unit-tests: $(BUILD)/Makefile
	@$(MAKE) --no-print-directory -C $(BUILD) -j$(JOBS) unit_tests

check-unit: unit-tests
	$(BUILD)/unit_tests --gtest_brief=1

$(ASAN_BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DS3NBD_SANITIZE=ON -DS3NBD_WERROR=$(WERROR) >/dev/null

check-asan: $(ASAN_BUILD)/Makefile
	@$(MAKE) --no-print-directory -C $(ASAN_BUILD) -j$(JOBS) unit_tests
	$(ASAN_BUILD)/unit_tests --gtest_brief=1

check-integration: build
	bash tests/run-integration.sh

check: deps
	@$(MAKE) --no-print-directory build unit-tests
	@$(MAKE) --no-print-directory check-unit check-asan check-integration

demo: deps build
	bash scripts/demo.sh

bench-deps:
	@bash bench/install-deps.sh

bench-build: $(BUILD)/Makefile
	@$(MAKE) --no-print-directory -C $(BUILD) -j$(JOBS) nbdkit-s3nbd-plugin s3nbd s3load

bench: bench-deps
	@$(MAKE) --no-print-directory bench-build
	bash bench/run.sh

bench-smoke: bench-deps
	@$(MAKE) --no-print-directory bench-build
	BENCH_SMOKE=1 bash bench/run.sh

install: build
	install -D -m 0755 $(BUILD)/nbdkit-s3nbd-plugin.so $(DESTDIR)/usr/lib/x86_64-linux-gnu/nbdkit/plugins/nbdkit-s3nbd-plugin.so
	install -D -m 0755 $(BUILD)/s3nbd $(DESTDIR)/usr/bin/s3nbd

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
