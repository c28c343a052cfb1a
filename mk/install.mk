# SPDX-License-Identifier: MIT
#
# mk/install.mk: `make install`, `make uninstall` and `make test-install` for aoai.
#
# Included by the top-level Makefile (`include mk/install.mk`), and usable on its own:
#   make -f mk/install.mk install PREFIX=/opt/aoai
#
#   make install   [PREFIX=/usr/local] [DESTDIR=] [libdir=] [includedir=] [pkgconfigdir=] [cmakedir=]
#   make uninstall [same variables]     removes exactly what `make install` added
#   make test-install                   tests/install/run.sh: install into a temporary prefix,
#                                       build consumers with pkg-config, CMake and statically
#   make install-lib                    only builds the libraries that `install` copies
#
# What gets installed (PREFIX=/usr/local):
#   lib/libaoai.so.X.Y.Z            the shared library, SONAME libaoai.so.X (X = MAJOR)
#   lib/libaoai.so.X -> libaoai.so.X.Y.Z, lib/libaoai.so -> libaoai.so.X
#   lib/libaoai.a                   the static library
#   include/aoai.h (and include/aoai.hpp when the C++ wrapper exists)
#   lib/pkgconfig/aoai.pc           shared by default; `pkg-config --static` adds the native libs
#   lib/pkgconfig/aoai-static.pc    links libaoai.a by path (pkg-config cannot choose .a over .so)
#   lib/cmake/aoai/aoaiConfig.cmake, aoaiConfigVersion.cmake: aoai::aoai, aoai::aoai_static
#   lib/cmake/aoai/install_manifest.txt: what this install created, read by `make uninstall`
#
# The SONAME is a link argument. When build.rs passes it (cargo:rustc-cdylib-link-arg), the
# plain release build in target/release is installed. Otherwise the libraries are built with
# `cargo rustc ... -C link-arg=-Wl,-soname,...` into their own target directory
# (AOAI_INSTALL_TARGET_DIR, default target/install): in target/release, every plain
# `cargo build --release` and this build would rebuild each other. Either way install-lib
# copies them to $(AOAI_INSTALL_TARGET_DIR)/stage and checks the SONAME with readelf.
# `AOAI_NO_BUILD=1` skips cargo (e.g. `sudo make install AOAI_NO_BUILD=1` after
# `make install-lib` as yourself).

# This fragment must not change the including Makefile's default goal.
_aoai_saved_default_goal := $(.DEFAULT_GOAL)

AOAI_ROOT := $(patsubst %/,%,$(dir $(abspath $(dir $(lastword $(MAKEFILE_LIST))))))

PREFIX ?= /usr/local
DESTDIR ?=
libdir ?= $(PREFIX)/lib
includedir ?= $(PREFIX)/include
pkgconfigdir ?= $(libdir)/pkgconfig
cmakedir ?= $(libdir)/cmake/aoai

CARGO ?= cargo
AOAI_INSTALL_TARGET_DIR ?= $(AOAI_ROOT)/target/install
AOAI_NO_BUILD ?= 0

# The version comes from Cargo.toml ([package] version); the SONAME carries MAJOR only.
AOAI_VERSION := $(shell sed -n '/^\[package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' $(AOAI_ROOT)/Cargo.toml)
AOAI_SOVERSION := $(word 1,$(subst ., ,$(AOAI_VERSION)))
AOAI_SONAME := libaoai.so.$(AOAI_SOVERSION)
AOAI_REALNAME := libaoai.so.$(AOAI_VERSION)

# What `rustc --print native-static-libs` lists for libaoai.a on Linux (glibc).
AOAI_NATIVE_STATIC_LIBS ?= -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc

AOAI_STAGE := $(AOAI_INSTALL_TARGET_DIR)/stage
AOAI_HPP := $(firstword $(wildcard $(AOAI_ROOT)/include/aoai.hpp $(AOAI_ROOT)/bindings/cpp/include/aoai.hpp $(AOAI_ROOT)/bindings/cpp/aoai.hpp))

# pkg-config and CMake files: paths below PREFIX are written relative to it (pkg-config
# ${prefix}, CMake the config file's own directory), so a copied prefix still works.
_aoai_pc_path = $(if $(filter $(PREFIX)/%,$(1)),$${prefix}/$(patsubst $(PREFIX)/%,%,$(1)),$(1))
_aoai_empty :=
_aoai_space := $(_aoai_empty) $(_aoai_empty)
_aoai_rel = $(shell realpath -m --relative-to='$(cmakedir)' '$(1)')

# The files install writes (final paths, without DESTDIR).
AOAI_INSTALLED_FILES = \
	$(libdir)/$(AOAI_REALNAME) $(libdir)/$(AOAI_SONAME) $(libdir)/libaoai.so $(libdir)/libaoai.a \
	$(includedir)/aoai.h $(if $(AOAI_HPP),$(includedir)/aoai.hpp) \
	$(pkgconfigdir)/aoai.pc $(pkgconfigdir)/aoai-static.pc \
	$(cmakedir)/aoaiConfig.cmake $(cmakedir)/aoaiConfigVersion.cmake \
	$(cmakedir)/install_manifest.txt
# Every file install may ever have written, for uninstalling without a manifest.
AOAI_ALL_FILES = $(filter-out $(includedir)/aoai.hpp,$(AOAI_INSTALLED_FILES)) $(includedir)/aoai.hpp

.PHONY: install uninstall test-install install-lib

install-lib:
ifeq ($(AOAI_NO_BUILD),0)
	@set -e; cd '$(AOAI_ROOT)'; \
	if grep -qs 'rustc-cdylib-link-arg=-Wl,-soname' build.rs; then \
		echo "$(CARGO) build --release --lib"; \
		$(CARGO) build --release --lib; built=target/release; \
	else \
		echo "$(CARGO) rustc --release --lib --crate-type cdylib,staticlib --target-dir '$(AOAI_INSTALL_TARGET_DIR)' -- -C link-arg=-Wl,-soname,$(AOAI_SONAME)"; \
		$(CARGO) rustc --release --lib --crate-type cdylib,staticlib --target-dir '$(AOAI_INSTALL_TARGET_DIR)' \
			-- -C link-arg=-Wl,-soname,$(AOAI_SONAME); \
		built='$(AOAI_INSTALL_TARGET_DIR)/release'; \
	fi; \
	mkdir -p '$(AOAI_STAGE)'; \
	cp -f "$$built/libaoai.so" '$(AOAI_STAGE)/libaoai.so.tmp' && mv -f '$(AOAI_STAGE)/libaoai.so.tmp' '$(AOAI_STAGE)/libaoai.so'; \
	cp -f "$$built/libaoai.a" '$(AOAI_STAGE)/libaoai.a.tmp' && mv -f '$(AOAI_STAGE)/libaoai.a.tmp' '$(AOAI_STAGE)/libaoai.a'
endif
	@test -f '$(AOAI_STAGE)/libaoai.so' && test -f '$(AOAI_STAGE)/libaoai.a' || \
		{ echo "install: $(AOAI_STAGE)/libaoai.{so,a} missing: run 'make install-lib' first" >&2; exit 1; }
	@soname=$$(readelf -d '$(AOAI_STAGE)/libaoai.so' | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p'); \
	test "$$soname" = '$(AOAI_SONAME)' || \
		{ echo "install: $(AOAI_STAGE)/libaoai.so has SONAME '$$soname', not $(AOAI_SONAME)" >&2; exit 1; }

install: install-lib
	@test -n '$(AOAI_VERSION)' || { echo "install: cannot read the version from Cargo.toml" >&2; exit 1; }
	@# Record the directories this install creates (for uninstall), keeping those an earlier
	@# install created; then the files.
	@set -e; \
	if [ -n '$(DESTDIR)' ]; then mkdir -p '$(DESTDIR)'; fi; \
	manifest='$(DESTDIR)$(cmakedir)/install_manifest.txt'; \
	created=''; \
	if [ -f "$$manifest" ]; then created=$$(sed -n 's/^dir //p' "$$manifest"); fi; \
	for d in '$(libdir)' '$(includedir)' '$(pkgconfigdir)' '$(cmakedir)'; do \
		new=''; p="$$d"; \
		while [ -n "$$p" ] && [ "$$p" != / ] && [ "$$p" != . ] && [ ! -d '$(DESTDIR)'"$$p" ]; do \
			new="$$p $$new"; p=$$(dirname "$$p"); \
		done; \
		for n in $$new; do mkdir '$(DESTDIR)'"$$n"; created="$$created $$n"; done; \
	done; \
	{ echo "# aoai $(AOAI_VERSION): written by make install, read by make uninstall"; \
	  for f in $(AOAI_INSTALLED_FILES); do echo "file $$f"; done; \
	  for d in $$created; do echo "dir $$d"; done; } > "$$manifest.tmp"; \
	mv "$$manifest.tmp" "$$manifest"
	install -m 755 '$(AOAI_STAGE)/libaoai.so' '$(DESTDIR)$(libdir)/$(AOAI_REALNAME)'
	ln -sfn '$(AOAI_REALNAME)' '$(DESTDIR)$(libdir)/$(AOAI_SONAME)'
	ln -sfn '$(AOAI_SONAME)' '$(DESTDIR)$(libdir)/libaoai.so'
	install -m 644 '$(AOAI_STAGE)/libaoai.a' '$(DESTDIR)$(libdir)/libaoai.a'
	install -m 644 '$(AOAI_ROOT)/include/aoai.h' '$(DESTDIR)$(includedir)/aoai.h'
ifneq ($(AOAI_HPP),)
	install -m 644 '$(AOAI_HPP)' '$(DESTDIR)$(includedir)/aoai.hpp'
endif
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(call _aoai_pc_path,$(libdir))|g' \
	    -e 's|@INCLUDEDIR@|$(call _aoai_pc_path,$(includedir))|g' -e 's|@VERSION@|$(AOAI_VERSION)|g' \
	    -e 's|@NATIVE_STATIC_LIBS@|$(AOAI_NATIVE_STATIC_LIBS)|g' \
	    '$(AOAI_ROOT)/pkgconfig/aoai.pc.in' > '$(DESTDIR)$(pkgconfigdir)/aoai.pc'
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(call _aoai_pc_path,$(libdir))|g' \
	    -e 's|@INCLUDEDIR@|$(call _aoai_pc_path,$(includedir))|g' -e 's|@VERSION@|$(AOAI_VERSION)|g' \
	    -e 's|@NATIVE_STATIC_LIBS@|$(AOAI_NATIVE_STATIC_LIBS)|g' \
	    '$(AOAI_ROOT)/pkgconfig/aoai-static.pc.in' > '$(DESTDIR)$(pkgconfigdir)/aoai-static.pc'
	sed -e 's|@REL_LIBDIR@|$(call _aoai_rel,$(libdir))|g' \
	    -e 's|@REL_INCLUDEDIR@|$(call _aoai_rel,$(includedir))|g' \
	    -e 's|@VERSION@|$(AOAI_VERSION)|g' -e 's|@SONAME@|$(AOAI_SONAME)|g' \
	    -e 's|@REALNAME@|$(AOAI_REALNAME)|g' \
	    -e 's|@NATIVE_STATIC_LIBS@|$(subst $(_aoai_space),;,$(strip $(patsubst -l%,%,$(AOAI_NATIVE_STATIC_LIBS))))|g' \
	    '$(AOAI_ROOT)/cmake/aoaiConfig.cmake.in' > '$(DESTDIR)$(cmakedir)/aoaiConfig.cmake'
	sed -e 's|@VERSION@|$(AOAI_VERSION)|g' \
	    '$(AOAI_ROOT)/cmake/aoaiConfigVersion.cmake.in' > '$(DESTDIR)$(cmakedir)/aoaiConfigVersion.cmake'
	@echo "installed aoai $(AOAI_VERSION) into $(DESTDIR)$(PREFIX)"

uninstall:
	@set -e; \
	manifest='$(DESTDIR)$(cmakedir)/install_manifest.txt'; \
	if [ -f "$$manifest" ]; then \
		files=$$(sed -n 's/^file //p' "$$manifest"); dirs=$$(sed -n 's/^dir //p' "$$manifest"); \
	else \
		echo "uninstall: no $$manifest: removing the known files only"; \
		files='$(AOAI_ALL_FILES)'; dirs='$(cmakedir)'; \
	fi; \
	for f in $$files; do \
		if [ -e '$(DESTDIR)'"$$f" ] || [ -L '$(DESTDIR)'"$$f" ]; then echo "rm $(DESTDIR)$$f"; rm -f '$(DESTDIR)'"$$f"; fi; \
	done; \
	for d in $$(printf '%s\n' $$dirs | awk '{ print length($$0) " " $$0 }' | sort -rn | cut -d' ' -f2-); do \
		if [ -d '$(DESTDIR)'"$$d" ]; then rmdir '$(DESTDIR)'"$$d" 2>/dev/null && echo "rmdir $(DESTDIR)$$d" || \
			echo "uninstall: kept $(DESTDIR)$$d (not empty)"; fi; \
	done

test-install:
	'$(AOAI_ROOT)/tests/install/run.sh'

.DEFAULT_GOAL := $(_aoai_saved_default_goal)
