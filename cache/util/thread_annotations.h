// Clang thread-safety annotations (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html):
// a lock rule written as GUARDED_BY / REQUIRES is checked by `clang -Wthread-safety`
// (make check-thread-safety). Under other compilers every macro is a no-op.
// LOCK RULE: none (macros only).
#pragma once

#if defined(__clang__)
#define S3NBD_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define S3NBD_THREAD_ANNOTATION(x)
#endif

// A class that is a lock (a capability named by `x`, e.g. "mutex").
#define CAPABILITY(x) S3NBD_THREAD_ANNOTATION(capability(x))
// An RAII class that holds a capability from construction to destruction.
#define SCOPED_CAPABILITY S3NBD_THREAD_ANNOTATION(scoped_lockable)
// A member read or written only with the capability held.
#define GUARDED_BY(x) S3NBD_THREAD_ANNOTATION(guarded_by(x))
// A pointer member whose pointee is read or written only with the capability held.
#define PT_GUARDED_BY(x) S3NBD_THREAD_ANNOTATION(pt_guarded_by(x))
// The caller must hold (REQUIRES) or must not hold (EXCLUDES) the capabilities.
#define REQUIRES(...) S3NBD_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) S3NBD_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
// The function acquires / releases the capabilities (none named: `this`).
#define ACQUIRE(...) S3NBD_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) S3NBD_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) S3NBD_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
// Tells the analysis the capability is held here (checked at run time, if at all, by the
// function itself).
#define ASSERT_CAPABILITY(x) S3NBD_THREAD_ANNOTATION(assert_capability(x))
// Lock ordering: this capability is taken before / after the named ones.
#define ACQUIRED_BEFORE(...) S3NBD_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) S3NBD_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
// The function returns a reference to the named capability.
#define RETURN_CAPABILITY(x) S3NBD_THREAD_ANNOTATION(lock_returned(x))
// Turns the analysis off for one function: every use must say in a comment why.
#define NO_THREAD_SAFETY_ANALYSIS S3NBD_THREAD_ANNOTATION(no_thread_safety_analysis)
