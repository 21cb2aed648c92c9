// The built-in component kinds: one line each. A kind's file defines `Register<Name>(Registry&)`,
// which adds its role, name(s) and compile function; the order here is the order in which
// messages list the available kinds.
#include "sluice/components/registry.h"

#define SLUICE_BUILTIN_KINDS(X) \
  X(FilesSource)                \
  X(LakeSource)                 \
  X(StreamSources)              \
  X(Validate)                   \
  X(Map)                        \
  X(Route)                      \
  X(Aggregate)                  \
  X(Dedup)                      \
  X(Lookup)                     \
  X(Join)                       \
  X(Sample)                     \
  X(SqlModel)                   \
  X(FilesSink)                  \
  X(LakeSink)                   \
  X(WarehouseSink)              \
  X(StreamSinks)                \
  X(BlackholeSink)

namespace sluice::components {

#define SLUICE_DECLARE_KIND(name) void Register##name(Registry& r);
SLUICE_BUILTIN_KINDS(SLUICE_DECLARE_KIND)
#undef SLUICE_DECLARE_KIND

const Registry& Builtins() {
  static const Registry registry = [] {
    Registry r;
#define SLUICE_REGISTER_KIND(name) Register##name(r);
    SLUICE_BUILTIN_KINDS(SLUICE_REGISTER_KIND)
#undef SLUICE_REGISTER_KIND
    // Announced in the docs, not built yet.
    r.AddPlanned(engine::Role::kSource, "postgres");
    r.AddPlanned(engine::Role::kSource, "s3");
    r.AddPlanned(engine::Role::kSink, "features");
    return r;
  }();
  return registry;
}

}  // namespace sluice::components
