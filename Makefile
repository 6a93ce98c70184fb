# s3nbd — entry points. CMake builds underneath; see README.md.
#   make            build build/nbdkit-s3nbd-plugin.so and build/s3nbd
#   make deps       install the Debian packages (idempotent, root)
#   make check      the whole test suite: unit, ASan/UBSan unit, integration against Ceph RGW
#   make check-faults  reliability suite: S3 faults, outages, crashes, full disks, hostile input
#   make demo       the main job: local S3 server, a volume, ext4 on it, files written and read
BUILD ?= build
ASAN_BUILD ?= build-asan
WERROR ?= $(if $(CI),ON,ON)
JOBS ?= $(shell nproc)

.PHONY: all deps build unit-tests check check-unit check-asan check-integration check-faults check-fuzz-xml demo clean install

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

check-faults: deps build check-fuzz-xml
	bash tests/faults/run-faults.sh

# libFuzzer target for the S3 XML parser, a fixed number of runs (FUZZ_RUNS) from a seed corpus
FUZZ_RUNS ?= 200000
check-fuzz-xml:
	@mkdir -p $(BUILD)/fuzz
	clang++ -std=c++20 -O1 -g -I. -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  tests/fuzz/fuzz_s3_xml.cc cache/s3/s3_xml.cc -o $(BUILD)/fuzz/fuzz_s3_xml
	@rm -rf $(BUILD)/fuzz/corpus-s3-xml && cp -r tests/fuzz/corpus-s3-xml $(BUILD)/fuzz/corpus-s3-xml
	@$(BUILD)/fuzz/fuzz_s3_xml -runs=$(FUZZ_RUNS) -max_len=4096 -seed=1 $(BUILD)/fuzz/corpus-s3-xml \
	  >$(BUILD)/fuzz/fuzz_s3_xml.log 2>&1 || { tail -n 40 $(BUILD)/fuzz/fuzz_s3_xml.log; exit 1; }
	@echo "fuzz_s3_xml: $$(tail -n 1 $(BUILD)/fuzz/fuzz_s3_xml.log)"

check: deps
	@$(MAKE) --no-print-directory build unit-tests
	@$(MAKE) --no-print-directory check-unit check-asan check-integration

demo: deps build
	bash scripts/demo.sh

install: build
	install -D -m 0755 $(BUILD)/nbdkit-s3nbd-plugin.so $(DESTDIR)/usr/lib/x86_64-linux-gnu/nbdkit/plugins/nbdkit-s3nbd-plugin.so
	install -D -m 0755 $(BUILD)/s3nbd $(DESTDIR)/usr/bin/s3nbd

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
