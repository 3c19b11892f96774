# meterflow -- one Makefile, several build flavours.
#
#   make                      release build: build/release/meterflow
#   make BUILD=asan           ASan+UBSan build of everything (tests run under it)
#   make BUILD=tsan           ThreadSanitizer build (threaded tests)
#   make BUILD=fuzz           clang + libFuzzer targets: build/fuzz/fuzz_*
#   make check                build + run the unit tests of the current flavour
#   make bench                benchmarks (bench/README.md)
#
# Sources are globbed per module, so adding a file never needs an edit here:
#   src/<module>/*.c  -> build/$(BUILD)/libmeterflow.a   (everything but src/app)
#   src/app/*.c       -> build/$(BUILD)/meterflow
#   tests/unit/test_*.c, tests/integ/test_*.c -> one binary each
#   tests/fuzz/fuzz_*.c -> libFuzzer targets (BUILD=fuzz) or corpus replayers (other flavours)
#   bench/bench_*.c   -> one binary each

BUILD ?= release
OUT := build/$(BUILD)

PKGS := libuv libmicrohttpd rdkafka sqlite3 libpq jansson libsodium inih
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wformat=2 -Wvla -Wimplicit-fallthrough -Werror
# The codec is pure arithmetic on outside bytes: it also gets -Wconversion.
WARN_PROTO := -Wconversion

CSTD := -std=c17 -D_GNU_SOURCE
INC := -Iinclude -Isrc

ifeq ($(BUILD),release)
  CC ?= cc
  OPT := -O2 -g
  SAN :=
else ifeq ($(BUILD),asan)
  OPT := -O1 -g -fno-omit-frame-pointer
  SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
else ifeq ($(BUILD),tsan)
  OPT := -O1 -g
  SAN := -fsanitize=thread
else ifeq ($(BUILD),fuzz)
  CC := clang
  OPT := -O1 -g -fno-omit-frame-pointer
  SAN := -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined
  # librdkafka's RD_KAFKA_V_* macros are GNU statement expressions (fine in gcc -pedantic).
  WARN_LATE := -Wno-gnu-statement-expression
else ifeq ($(BUILD),bench)
  OPT := -O3 -march=native -g -DNDEBUG
  SAN :=
else
  $(error unknown BUILD=$(BUILD): use release, asan, tsan, fuzz or bench)
endif

CFLAGS_ALL := $(CSTD) $(OPT) $(SAN) $(WARN) $(WARN_LATE) $(INC) $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL := $(SAN) $(LDFLAGS)
LIBS := $(PKG_LIBS) -lpthread -lm

MODULES := common proto queue store proc front worker web sim sec
LIB_SRC := $(foreach m,$(MODULES),$(wildcard src/$(m)/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(OUT)/obj/%.o)
APP_SRC := $(wildcard src/app/*.c)
APP_OBJ := $(APP_SRC:%.c=$(OUT)/obj/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(OUT)/tests/%)
INTEG_SRC := $(wildcard tests/integ/test_*.c)
INTEG_BIN := $(INTEG_SRC:tests/integ/%.c=$(OUT)/integ/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(OUT)/fuzz/%)
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(OUT)/bench/%)
HARNESS_OBJ := $(OUT)/obj/tests/harness.o

.PHONY: all lib tests fuzz benchbin check clean format
all: $(OUT)/meterflow tests fuzz
lib: $(OUT)/libmeterflow.a
tests: $(UNIT_BIN) $(INTEG_BIN)
fuzz: $(FUZZ_BIN)
benchbin: $(BENCH_BIN)

$(OUT)/obj/src/proto/%.o: src/proto/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(WARN_PROTO) -MMD -MP -c $< -o $@

$(OUT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(OUT)/libmeterflow.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(OUT)/meterflow: $(APP_OBJ) $(OUT)/libmeterflow.a
	$(CC) $(LDFLAGS_ALL) -o $@ $(APP_OBJ) $(OUT)/libmeterflow.a $(LIBS)

$(HARNESS_OBJ): tests/harness.c tests/harness.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests -c $< -o $@

$(OUT)/tests/%: tests/unit/%.c $(HARNESS_OBJ) $(OUT)/libmeterflow.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests -MMD -MP -o $@ $< $(HARNESS_OBJ) $(OUT)/libmeterflow.a $(LDFLAGS_ALL) $(LIBS)

$(OUT)/integ/%: tests/integ/%.c $(HARNESS_OBJ) $(OUT)/libmeterflow.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests -MMD -MP -o $@ $< $(HARNESS_OBJ) $(OUT)/libmeterflow.a $(LDFLAGS_ALL) $(LIBS)

# In the fuzz flavour a target links libFuzzer; elsewhere it links a small main that
# replays every file of its corpus directory (tests/fuzz/corpus/<target>/), so the
# corpora run as ordinary tests under ASan+UBSan.
ifeq ($(BUILD),fuzz)
$(OUT)/fuzz/%: tests/fuzz/%.c $(OUT)/libmeterflow.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fsanitize=fuzzer -o $@ $< $(OUT)/libmeterflow.a $(LIBS)
else
$(OUT)/fuzz/%: tests/fuzz/%.c tests/fuzz/replay_main.c $(OUT)/libmeterflow.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< tests/fuzz/replay_main.c $(OUT)/libmeterflow.a $(LDFLAGS_ALL) $(LIBS)
endif

# bench_front_syscalls compares the front's system calls with io_uring (liburing-dev).
$(OUT)/bench/bench_front_syscalls: LIBS += -luring

$(OUT)/bench/%: bench/%.c bench/bench_args.h $(OUT)/libmeterflow.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests -o $@ $< $(OUT)/libmeterflow.a $(LDFLAGS_ALL) $(LIBS)

check: $(OUT)/meterflow tests fuzz
	MF_BUILD=$(BUILD) scripts/run-unit.sh

bench:
	scripts/bench.sh

format:
	clang-format -i $(shell git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
