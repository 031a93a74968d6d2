package io.jarscore.registry;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongSupplier;

import io.jarscore.runtime.Model;

/**
 * Serves the models of a repository ({@code ROOT/<name>/<version>/}) by name, swapping versions
 * while requests run. Requests never lock: each reads the immutable map of served versions and
 * takes a reference on the version it scores with, so it finishes on that version even if a swap
 * retires it meanwhile; the retired version closes when its last request releases it. Loads,
 * unloads and reloads are serialized, and a version serves only after it is complete on disk,
 * loaded, and accepted by every {@code beforeSwap} validator.
 */
public final class ModelRegistry implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(ModelRegistry.class.getName());
    private static final int SHADOW_QUEUE = 1024;
    /**
     * A refused version whose files have not changed is tried again after this back-off, doubling up
     * to the cap: a cause outside its folder (memory, a validator's data) may have gone away.
     */
    static final long RETRY_FIRST_NANOS = TimeUnit.SECONDS.toNanos(5);
    static final long RETRY_MAX_NANOS = TimeUnit.MINUTES.toNanos(5);

    private final Repository repository;
    private final VersionPolicy defaultPolicy;
    private final Map<String, VersionPolicy> policies = new ConcurrentHashMap<>();
    private final List<Validator> validators = new CopyOnWriteArrayList<>();
    private final List<BiConsumer<ModelVersion, ModelVersion>> afterSwap = new CopyOnWriteArrayList<>();
    private final List<Consumer<Exception>> onError = new CopyOnWriteArrayList<>();
    /** Per model, its served versions: immutable, replaced whole on every swap. */
    private final Map<String, Served> served = new ConcurrentHashMap<>();
    private final Map<String, Router> routes = new ConcurrentHashMap<>();
    /** Routes whose weights name labels, resolved to versions at every poll. */
    private final Map<String, Map<String, Integer>> labelRoutes = new ConcurrentHashMap<>();
    private final LabelTracker labels = new LabelTracker(this::reportLabelProblem);
    private final Map<String, Shadow> shadows = new ConcurrentHashMap<>();
    /** Models unloaded by {@link #unloadModel}: polls leave them alone until {@link #loadModel}. */
    private final Set<String> held = ConcurrentHashMap.newKeySet();
    /** Version directories that were refused: poll() tries them again once their files change or their back-off passes. */
    private final Map<Path, Refusal> refused = new ConcurrentHashMap<>();
    /** The monotonic clock of the back-off, in nanoseconds; tests replace it. */
    volatile LongSupplier clock = System::nanoTime;
    private final Metrics metrics = new Metrics();
    private volatile TrustedKeys trustedKeys;
    private final ReentrantLock swapLock = new ReentrantLock();
    private final ThreadPoolExecutor shadowExecutor;
    private Watcher watcher;
    private volatile boolean closed;

    private record Shadow(int version, BiConsumer<Result<?>, Result<?>> callback) {
    }

    /**
     * A model's served versions and the one serving requests without a route ({@code primary}: the one
     * the policy chose; the highest when it is not served).
     */
    private record Served(NavigableMap<Integer, ModelVersion> versions, int primary) {
        static final Served NONE = new Served(Collections.emptyNavigableMap(), -1);

        ModelVersion primaryVersion() {
            ModelVersion chosen = versions.get(primary);
            return chosen != null ? chosen : versions.isEmpty() ? null : versions.lastEntry().getValue();
        }
    }

    /** A refused version: its folder's fingerprint before the attempt that failed, why, and when to try again. */
    record Refusal(String fingerprint, String message, long nextTry, long delay) {
    }

    /** A registry serving the latest version of every model under {@code root}. */
    public ModelRegistry(Path root) {
        this(root, VersionPolicy.latest());
    }

    /**
     * A registry over {@code root}; the default {@link VerificationValidator} is installed, and the trusted
     * keys are {@link TrustedKeys#fromEnvironment()}'s (see {@link #trustedKeys(TrustedKeys)}).
     */
    public ModelRegistry(Path root, VersionPolicy policy) {
        this.repository = new Repository(root);
        this.defaultPolicy = policy;
        this.trustedKeys = TrustedKeys.fromEnvironment();
        this.validators.add(new VerificationValidator());
        this.shadowExecutor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
            new ArrayBlockingQueue<>(SHADOW_QUEUE), runnable -> {
                Thread thread = new Thread(runnable, "jarscore-shadow " + repository.root());
                thread.setDaemon(true);
                return thread;
            });
    }

    public Repository repository() {
        return repository;
    }

    // configuration -------------------------------------------------------------------------------

    /** Overrides the version policy for one model. */
    public ModelRegistry policy(String name, VersionPolicy policy) {
        policies.put(name, policy);
        return this;
    }

    public VersionPolicy policyFor(String name) {
        return policies.getOrDefault(name, defaultPolicy);
    }

    /**
     * The keys a version must be signed by, checked before any class of it loads; {@link TrustedKeys#none()}
     * checks no signature. Applies to the versions loaded from then on.
     */
    public ModelRegistry trustedKeys(TrustedKeys keys) {
        this.trustedKeys = java.util.Objects.requireNonNull(keys, "keys");
        return this;
    }

    public TrustedKeys trustedKeys() {
        return trustedKeys;
    }

    /** Adds a check a candidate must pass before it serves (after the default verification). */
    public ModelRegistry beforeSwap(Validator validator) {
        validators.add(validator);
        return this;
    }

    /** Called after a swap with the version that served by default before (or null) and the one after (or null). */
    public ModelRegistry afterSwap(BiConsumer<ModelVersion, ModelVersion> callback) {
        afterSwap.add(callback);
        return this;
    }

    /** Called with every failed load ({@link VersionLoadException}) and every failing callback. */
    public ModelRegistry onError(Consumer<Exception> callback) {
        onError.add(callback);
        return this;
    }

    /** Routes requests that carry a key between versions by weight; see {@link Router}. */
    public void route(String name, Map<Integer, Integer> weights) {
        Router router = new Router(weights);
        swapLock.lock();
        try {
            labelRoutes.remove(name);
            routes.put(name, router);
        } finally {
            swapLock.unlock();
        }
    }

    /**
     * Routes requests that carry a key between the versions that labels name, by weight (e.g.
     * {@code {"stable": 95, "canary": 5}}), resolved now and again at every poll; a label that is not
     * honoured gets no traffic. (A method of its own: Java cannot overload on a map's key type.)
     */
    public void routeLabels(String name, Map<String, Integer> weights) {
        Map<Integer, Integer> numbered = new TreeMap<>();
        weights.forEach((label, weight) -> numbered.put(numbered.size() + 1, weight));
        new Router(numbered); // checks the weights
        swapLock.lock();
        try {
            labelRoutes.put(name, Map.copyOf(weights));
            resolveRoute(name);
        } finally {
            swapLock.unlock();
        }
    }

    public void clearRoute(String name) {
        swapLock.lock();
        try {
            labelRoutes.remove(name);
            routes.remove(name);
        } finally {
            swapLock.unlock();
        }
    }

    /**
     * Scores every request of {@code name} on {@code version} as well, on a background thread, and
     * hands both results to {@code callback}; the caller only ever gets the primary result.
     */
    public void shadow(String name, int version, BiConsumer<Result<?>, Result<?>> callback) {
        shadows.put(name, new Shadow(version, callback));
    }

    public void clearShadow(String name) {
        shadows.remove(name);
    }

    // explicit hooks ------------------------------------------------------------------------------

    /**
     * Makes the served versions of every model in the repository match its version policy: loads the
     * complete versions the policy selects and then unloads the versions it no longer selects. Versions
     * refused before are tried again. A version that fails is reported (onError, the log, the load-error
     * metric) once for as long as it fails the same way unchanged; the versions serving stay. A model
     * with no complete version left keeps serving what it has.
     */
    public void reload() {
        reloadAll(true);
    }

    /**
     * What the {@link Watcher} calls: {@link #reload()}, except that a refused version is tried again only
     * once any file of its folder changed (name, size or modification time), or after a back-off (5 s,
     * doubling up to 5 minutes) when nothing changed.
     */
    public void poll() {
        reloadAll(false);
    }

    private void reloadAll(boolean retryRefused) {
        swapLock.lock();
        try {
            requireOpen();
            Set<String> names = new LinkedHashSet<>(repository.modelNames());
            names.removeAll(held);
            for (String name : names) {
                reload(name, retryRefused);
            }
        } catch (RuntimeException e) {
            report(e);
            throw e;
        } finally {
            swapLock.unlock();
        }
    }

    /** Loads one version and makes it serve (under the latest policy: instead of the others). */
    public ModelVersion load(String name, int version) {
        swapLock.lock();
        try {
            requireOpen();
            Path dir = repository.directory(name, version);
            String before = fingerprint(dir);
            boolean single = policyFor(name).single();
            try {
                ModelVersion loaded = swapIn(name, version, dir,
                    single ? Set.copyOf(labels.honoured(name).values()) : null, single ? version : -1);
                refused.remove(dir);
                return loaded;
            } catch (VersionLoadException e) {
                refuse(dir, before, e);
                throw e;
            }
        } finally {
            swapLock.unlock();
        }
    }

    /** Stops serving a version; it closes once its requests in flight finish. False if it was not served. */
    public boolean unload(String name, int version) {
        swapLock.lock();
        try {
            Served before = served.getOrDefault(name, Served.NONE);
            ModelVersion leaving = before.versions().get(version);
            if (leaving == null) {
                return false;
            }
            TreeMap<Integer, ModelVersion> after = new TreeMap<>(before.versions());
            after.remove(version);
            publish(name, after, before.primary());
            notifySwap(before.primaryVersion(), served.getOrDefault(name, Served.NONE).primaryVersion());
            leaving.retire();
            LOG.log(System.Logger.Level.INFO, "unloaded {0}", leaving);
            return true;
        } finally {
            swapLock.unlock();
        }
    }

    /**
     * Stops serving every version of {@code name}, and keeps {@link #reload()} and the watcher from
     * serving it again until {@link #loadModel} does (a model server's explicit unload). False if no
     * version of it was serving.
     */
    public boolean unloadModel(String name) {
        swapLock.lock();
        try {
            held.add(name);
            boolean any = false;
            for (int version : versions(name)) {
                any |= unload(name, version);
            }
            return any;
        } finally {
            swapLock.unlock();
        }
    }

    /**
     * Serves {@code name} as its version policy selects, trying its refused versions again, and lets
     * polls follow it again after {@link #unloadModel}. Returns the versions serving afterwards
     * (empty if none loads; each failure goes to onError and the log as for {@link #reload()}).
     */
    public SortedSet<Integer> loadModel(String name) {
        swapLock.lock();
        try {
            requireOpen();
            held.remove(name);
            reload(name, true);
            return versions(name);
        } catch (RuntimeException e) {
            report(e);
            throw e;
        } finally {
            swapLock.unlock();
        }
    }

    /** Polls the repository every {@code interval} on a daemon thread; {@link #close()} stops it. */
    public Watcher watch(Duration interval) {
        synchronized (this) {
            if (watcher != null) {
                watcher.stop();
            }
            watcher = new Watcher(this, interval);
            watcher.start();
            return watcher;
        }
    }

    // scoring -------------------------------------------------------------------------------------

    public Result<Map<String, Object>> score(String name, Map<String, ?> row) {
        return score(name, null, row);
    }

    /** Scores one row; {@code key} (may be null) picks the version when the model is routed. */
    public Result<Map<String, Object>> score(String name, String key, Map<String, ?> row) {
        return call(name, key, 0, version -> version.model().score(row));
    }

    /** Scores a batch of columns; see {@link Model#scoreColumns}. */
    public Result<Object[]> scoreColumns(String name, String key, Object[] columns, int rows) {
        return call(name, key, 0, version -> version.model().scoreColumns(columns, rows));
    }

    /**
     * Runs {@code scoring} on the version a request gets, held for the call: {@code version} when it
     * is positive (routing bypassed; {@link ModelNotServedException} if it is not serving), else the
     * version routing by {@code key} (may be null) or the default picks. For a caller that shapes
     * its input to the version's own fields (a server decoding a request): the function sees the
     * version it scores with, even while a swap replaces it. Counted in the metrics and shadowed as
     * {@link #score} is; a shadow runs the same function on the shadow version.
     */
    public <T> Result<T> apply(String name, String key, int version, Function<ModelVersion, T> scoring) {
        if (version < 0) {
            throw new IllegalArgumentException("a model version is a positive integer (0: let the registry pick), got "
                + version);
        }
        return call(name, key, version, scoring);
    }

    /** Scores on {@code version} when it is positive, else on the version routing or the default picks. */
    private <T> Result<T> call(String name, String key, int pinned, Function<ModelVersion, T> scoring) {
        ModelVersion version = acquire(name, key, pinned);
        long start = System.nanoTime();
        boolean failed = true;
        try {
            Result<T> result = new Result<>(name, version.version(), scoring.apply(version));
            failed = false;
            Shadow shadow = shadows.get(name);
            if (shadow != null && shadow.version() != version.version()) {
                submitShadow(name, shadow, scoring, result);
            }
            return result;
        } finally {
            metrics.recordRequest(name, version.version(), System.nanoTime() - start, failed);
            version.release();
        }
    }

    /**
     * The version to score with, with a reference taken. If a swap retires and closes the version
     * between reading the map and taking the reference, the swap has already published a newer map.
     */
    private ModelVersion acquire(String name, String key, int pinned) {
        while (true) {
            Served now = served.get(name);
            NavigableMap<Integer, ModelVersion> versions = now == null ? null : now.versions();
            if (versions == null || versions.isEmpty()) {
                throw new ModelNotServedException(closed ? "the model registry is closed"
                    : "model '" + name + "' has no version serving (serving: " + new TreeSet<>(served.keySet())
                    + "); call load(\"" + name + "\", version) or reload(), or check " + repository.root().resolve(name));
            }
            if (pinned > 0) {
                ModelVersion exact = versions.get(pinned);
                if (exact == null) {
                    throw new ModelNotServedException("model '" + name + "' version " + pinned + " is not serving"
                        + " (serving versions " + versions.keySet() + ")");
                }
                if (exact.tryAcquire()) {
                    return exact;
                }
                Thread.onSpinWait(); // closed by a swap meanwhile: the next read of the map says so
                continue;
            }
            ModelVersion chosen = now.primaryVersion();
            Router router = key == null ? null : routes.get(name);
            if (router != null) {
                int routed = router.pick(key, versions.keySet());
                if (routed > 0) {
                    chosen = versions.get(routed);
                }
            }
            if (chosen.tryAcquire()) {
                return chosen;
            }
            Thread.onSpinWait();
        }
    }

    private <T> void submitShadow(String name, Shadow shadow, Function<ModelVersion, T> scoring, Result<T> primary) {
        Metrics.Series series = metrics.of(name, shadow.version());
        try {
            shadowExecutor.execute(() -> runShadow(name, shadow, scoring, primary, series));
        } catch (RejectedExecutionException e) {
            series.shadowDropped.increment();
        }
    }

    private <T> void runShadow(String name, Shadow shadow, Function<ModelVersion, T> scoring, Result<T> primary,
                               Metrics.Series series) {
        ModelVersion version = served.getOrDefault(name, Served.NONE).versions().get(shadow.version());
        if (version == null || !version.tryAcquire()) {
            series.shadowDropped.increment();
            return;
        }
        series.shadowRequests.increment();
        Result<T> result;
        try {
            result = new Result<>(name, version.version(), scoring.apply(version));
        } catch (RuntimeException e) {
            series.shadowErrors.increment();
            LOG.log(System.Logger.Level.DEBUG, "shadow scoring on " + version + " failed: " + e);
            return;
        } finally {
            version.release();
        }
        try {
            shadow.callback().accept(primary, result);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "the shadow callback of " + name + " failed: " + e, e);
            report(e);
        }
    }

    // state ---------------------------------------------------------------------------------------

    /** The versions of {@code name} serving now (empty if none). */
    public SortedSet<Integer> versions(String name) {
        return new TreeSet<>(served.getOrDefault(name, Served.NONE).versions().keySet());
    }

    /**
     * The version that serves requests without a routing key: the one the policy chose (the label's
     * under a label policy, else the highest of the policy's); -1 if none.
     */
    public int currentVersion(String name) {
        ModelVersion current = current(name);
        return current == null ? -1 : current.version();
    }

    /** The version serving requests without a routing key (see {@link #currentVersion}), or null; score through the registry. */
    public ModelVersion current(String name) {
        return served.getOrDefault(name, Served.NONE).primaryVersion();
    }

    /** The labels of {@code name} the registry honours now (label to version): each names a served version. */
    public Map<String, Integer> labels(String name) {
        return labels.honoured(name);
    }

    /**
     * The served version {@code label} names; throws {@link ModelNotServedException} for a label that is not
     * set, or that names a version that does not serve (missing or refused: the label is ignored).
     */
    public int versionForLabel(String name, String label) {
        Integer version = labels.honoured(name).get(label);
        if (version == null) {
            throw new ModelNotServedException("model '" + name + "' has no label '" + label + "' serving (labels"
                + " honoured: " + labels.honoured(name) + "); set it with 'jarscore label " + repository.root() + " "
                + name + " " + label + "=VERSION'");
        }
        return version;
    }

    /** Served version {@code version} of {@code name}, or null; score through the registry. */
    public ModelVersion served(String name, int version) {
        return served.getOrDefault(name, Served.NONE).versions().get(version);
    }

    /** Names of the models with a version serving. */
    public SortedSet<String> modelNames() {
        return new TreeSet<>(served.keySet());
    }

    /** Requests, errors and latency per model and version; see {@link Metrics#snapshot}. */
    public Map<String, Object> metrics() {
        Map<String, Integer> current = new HashMap<>();
        served.forEach((name, versions) -> {
            ModelVersion primary = versions.primaryVersion();
            if (primary != null) {
                current.put(name, primary.version());
            }
        });
        return metrics.snapshot(current);
    }

    /** {@link #metrics()} in the Prometheus text exposition format. */
    public String prometheus() {
        return Metrics.prometheus(metrics());
    }

    /** Stops the watcher and shadow scoring and retires every version (each closes once drained). */
    @Override
    public void close() {
        synchronized (this) {
            if (watcher != null) {
                watcher.stop();
                watcher = null;
            }
        }
        swapLock.lock();
        try {
            closed = true;
            shadowExecutor.shutdown();
            for (String name : List.copyOf(served.keySet())) {
                served.remove(name).versions().values().forEach(ModelVersion::retire);
            }
        } finally {
            swapLock.unlock();
        }
    }

    // swapping ------------------------------------------------------------------------------------

    private void reload(String name, boolean retryRefused) {
        VersionPolicy policy = policyFor(name);
        SortedMap<Integer, Path> directories = repository.versionDirectories(name);
        Map<String, Integer> named = labels.read(name, repository.root().resolve(name));
        SortedSet<Integer> usable = new TreeSet<>(directories.keySet());
        while (true) {
            NavigableMap<Integer, ModelVersion> current = served.getOrDefault(name, Served.NONE).versions();
            usable.removeIf(v -> !current.containsKey(v) && !worthTrying(name, v, directories.get(v), retryRefused));
            Map<String, Integer> targets = labels.targets(name, named, usable, current.keySet());
            SortedSet<Integer> chosen = policy.select(usable, targets);
            SortedSet<Integer> wanted = new TreeSet<>(chosen);
            wanted.addAll(targets.values());
            int primary = chosen.isEmpty() ? -1 : chosen.last();
            // The policy's versions first: under latest, the new one replaces the old before labels add theirs.
            List<Integer> order = new ArrayList<>(chosen);
            wanted.stream().filter(v -> !chosen.contains(v)).forEach(order::add);
            Integer failed = null;
            for (int version : order) {
                if (current.containsKey(version)) {
                    continue;
                }
                Path dir = directories.get(version);
                String before = fingerprint(dir);
                try {
                    swapIn(name, version, dir, wanted, primary);
                } catch (VersionLoadException e) {
                    refuse(dir, before, e);
                    failed = version;
                    break;
                }
                refused.remove(dir);
            }
            if (failed != null) {
                usable.remove(failed);
                continue; // the policy may pick another version now, e.g. the latest one that loads
            }
            if (wanted.isEmpty()) {
                if (!current.isEmpty()) {
                    LOG.log(System.Logger.Level.DEBUG, "{0}: no complete version selected by the policy ({1});"
                        + " keeping {2}", name, policy, current.keySet());
                }
                honourLabels(name, named, targets, directories);
                return;
            }
            Served now = served.getOrDefault(name, Served.NONE);
            ModelVersion before = now.primaryVersion();
            if (before != null && before.version() != primary && now.versions().containsKey(primary)) {
                // e.g. a label policy's label moved to a version loaded already
                publish(name, new TreeMap<>(now.versions()), primary);
                notifySwap(before, served.get(name).primaryVersion());
            }
            for (int version : List.copyOf(now.versions().keySet())) {
                if (!wanted.contains(version)) {
                    unload(name, version);
                }
            }
            honourLabels(name, named, targets, directories);
            return;
        }
    }

    /** Records the labels honoured now, reports those that cannot be, and resolves label routes. */
    private void honourLabels(String name, Map<String, Integer> named, Map<String, Integer> targets,
                              SortedMap<Integer, Path> directories) {
        labels.honour(name, named, targets, versions(name), version -> {
            Path dir = directories.getOrDefault(version, repository.directory(name, version));
            Refusal refusal = refused.get(dir);
            return new LabelTracker.Target(dir, !directories.containsKey(version) ? "it is not in the repository"
                : refusal != null ? "it was refused (" + refusal.message() + ")"
                : "it is not complete (no manifest yet)");
        });
        resolveRoute(name);
    }

    private void reportLabelProblem(Exception e) {
        if (e instanceof VersionLoadException v) {
            metrics.recordLoadError(v.model());
        }
        LOG.log(System.Logger.Level.WARNING, e.getMessage());
        report(e);
    }

    /** Routes the label weights of {@code name} to the versions its labels name now. */
    private void resolveRoute(String name) {
        Map<String, Integer> weights = labelRoutes.get(name);
        if (weights == null) {
            return;
        }
        Map<String, Integer> honoured = labels.honoured(name);
        Map<Integer, Integer> resolved = new TreeMap<>();
        weights.forEach((label, weight) -> {
            Integer version = honoured.get(label);
            if (version != null) {
                resolved.merge(version, weight, Integer::sum);
            }
        });
        if (resolved.isEmpty()) {
            routes.remove(name);
        } else {
            routes.put(name, new Router(resolved));
        }
    }

    /**
     * False for a directory that is not a version yet (no manifest), or that was refused and has not
     * changed since, unless retrying refused versions or its back-off has passed.
     */
    private boolean worthTrying(String name, int version, Path dir, boolean retryRefused) {
        if (!Files.isRegularFile(dir.resolve(Artifact.MANIFEST))) {
            LOG.log(System.Logger.Level.DEBUG, "{0} v{1}: no manifest yet in {2}; not a complete version", name,
                version, dir);
            return false;
        }
        Refusal refusal = refused.get(dir);
        return refusal == null || retryRefused || !refusal.fingerprint().equals(fingerprint(dir))
            || clock.getAsLong() - refusal.nextTry() >= 0;
    }

    /** Remembers a refusal; reports it unless the same folder, unchanged, failed the same way before. */
    private void refuse(Path dir, String before, VersionLoadException e) {
        Refusal previous = refused.get(dir);
        boolean repeated = previous != null && previous.fingerprint().equals(before)
            && previous.message().equals(e.getMessage());
        long delay = repeated ? Math.min(previous.delay() * 2, RETRY_MAX_NANOS) : RETRY_FIRST_NANOS;
        refused.put(dir, new Refusal(before, e.getMessage(), clock.getAsLong() + delay, delay));
        if (repeated) {
            LOG.log(System.Logger.Level.DEBUG, "{0} (unchanged, reported before; next try in {1} s)", e.getMessage(),
                TimeUnit.NANOSECONDS.toSeconds(delay));
        } else {
            failed(e);
        }
    }

    /** The refusal remembered for a version directory, or null (tests). */
    Refusal refusal(Path dir) {
        return refused.get(dir);
    }

    /**
     * Checks, loads and validates a version, then publishes it; the caller holds the swap lock. Under a
     * single-version policy it replaces the served versions except those in {@code keep} (which labels or
     * the policy still want); {@code primary} becomes the default version if it is served.
     */
    private ModelVersion swapIn(String name, int version, Path dir, Set<Integer> keep, int primary) {
        Artifact artifact = Artifact.verify(name, version, dir, trustedKeys);
        Model model;
        try {
            model = artifact.load();
        } catch (RuntimeException | LinkageError e) {
            throw new VersionLoadException(name, version, dir, "cannot load its JAR: " + e.getMessage(), e);
        }
        ModelVersion candidate = new ModelVersion(artifact, model);
        validate(candidate);
        Served was = served.getOrDefault(name, Served.NONE);
        NavigableMap<Integer, ModelVersion> before = was.versions();
        TreeMap<Integer, ModelVersion> after = new TreeMap<>(before);
        if (policyFor(name).single()) {
            after.keySet().removeIf(v -> keep == null || !keep.contains(v));
        }
        after.put(version, candidate);
        publish(name, after, after.containsKey(primary) ? primary : was.primary());
        notifySwap(was.primaryVersion(), served.get(name).primaryVersion());
        for (ModelVersion old : before.values()) {
            if (after.get(old.version()) != old) {
                old.retire();
            }
        }
        LOG.log(System.Logger.Level.INFO, "{0} serving (versions {1}, from {2})", candidate, after.keySet(), dir);
        return candidate;
    }

    private void validate(ModelVersion candidate) {
        for (int i = 0; i < validators.size(); i++) {
            Validator validator = validators.get(i);
            String which = i == 0 && validator instanceof VerificationValidator ? "the verification check"
                : "beforeSwap validator " + (i + 1) + " of " + validators.size();
            String refusal;
            Throwable cause = null;
            try {
                refusal = validator.accept(candidate) ? null : which + " said no";
            } catch (Exception | LinkageError e) {
                refusal = which + " failed: " + e.getMessage();
                cause = e;
            }
            if (refusal != null) {
                candidate.retire();
                throw new VersionLoadException(candidate.name(), candidate.version(), candidate.directory(),
                    "refused: " + refusal, cause);
            }
        }
    }

    private void publish(String name, TreeMap<Integer, ModelVersion> versions, int primary) {
        if (versions.isEmpty()) {
            served.remove(name);
        } else {
            served.put(name, new Served(Collections.unmodifiableNavigableMap(versions),
                versions.containsKey(primary) ? primary : -1));
        }
    }

    private void notifySwap(ModelVersion before, ModelVersion after) {
        for (BiConsumer<ModelVersion, ModelVersion> callback : afterSwap) {
            try {
                callback.accept(before, after);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "an afterSwap callback failed: " + e, e);
                report(e);
            }
        }
    }

    private void failed(VersionLoadException e) {
        metrics.recordLoadError(e.model());
        String serving = versions(e.model()).isEmpty() ? "nothing serves it" : "still serving versions " + versions(e.model());
        LOG.log(System.Logger.Level.WARNING, e.getMessage() + "; " + serving, e.getCause());
        report(e);
    }

    private void report(Exception e) {
        for (Consumer<Exception> callback : onError) {
            try {
                callback.accept(e);
            } catch (RuntimeException inner) {
                LOG.log(System.Logger.Level.WARNING, "an onError callback failed: " + inner, inner);
            }
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("the model registry over " + repository.root() + " is closed");
        }
        if (!Files.isDirectory(repository.root())) {
            throw new IllegalStateException("model repository not found: " + repository.root()
                + " (expected ROOT/<name>/<version>/ directories written by 'jarscore convert')");
        }
    }

    /**
     * Name, size and modification time (at the finest resolution the platform gives) of every file in
     * the version's folder: a refused version is tried again as soon as any of them changes. Taken
     * before the version is checked, so a file that changes during the check is seen at the next poll.
     */
    static String fingerprint(Path dir) {
        List<Path> entries = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            stream.forEach(entries::add);
        } catch (IOException | java.nio.file.DirectoryIteratorException e) {
            return "absent";
        }
        entries.sort(Comparator.comparing(p -> p.getFileName().toString()));
        StringBuilder sb = new StringBuilder();
        for (Path path : entries) {
            if (sb.length() > 0) {
                sb.append(';');
            }
            sb.append(path.getFileName()).append(':');
            try {
                BasicFileAttributes attributes = Files.readAttributes(path, BasicFileAttributes.class);
                sb.append(attributes.size()).append('@').append(attributes.lastModifiedTime().to(TimeUnit.NANOSECONDS));
            } catch (IOException e) {
                sb.append("gone");
            }
        }
        return sb.toString();
    }
}
