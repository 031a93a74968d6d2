package io.jarscore.registry;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * Weighted A/B routing between versions by a stable hash of a request key: a key always goes to
 * the same version while the weights and the served versions stay the same, on every instance and
 * in Python ({@code scorer.routing}) alike.
 */
public final class Router {

    private static final long FNV_OFFSET = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;

    private final NavigableMap<Integer, Integer> weights;

    /** {@code weights}: version to a positive share of the traffic, e.g. {1: 90, 2: 10}. */
    public Router(Map<Integer, Integer> weights) {
        if (weights.isEmpty()) {
            throw new IllegalArgumentException("routing needs at least one version with a weight");
        }
        weights.forEach((version, weight) -> {
            if (weight == null || weight <= 0) {
                throw new IllegalArgumentException("routing weight of version " + version + " must be a positive"
                    + " integer, got " + weight);
            }
        });
        this.weights = Collections.unmodifiableNavigableMap(new TreeMap<>(weights));
    }

    public NavigableMap<Integer, Integer> weights() {
        return weights;
    }

    /**
     * The version for {@code key} among the routed versions that are {@code served}; -1 if none of them is.
     * Versions are taken in ascending order, each owning a slice of the hash range as wide as its weight.
     */
    public int pick(String key, java.util.Set<Integer> served) {
        long total = 0;
        for (Map.Entry<Integer, Integer> e : weights.entrySet()) {
            if (served.contains(e.getKey())) {
                total += e.getValue();
            }
        }
        if (total == 0) {
            return -1;
        }
        long point = Long.remainderUnsigned(hash(key), total);
        for (Map.Entry<Integer, Integer> e : weights.entrySet()) {
            if (served.contains(e.getKey())) {
                point -= e.getValue();
                if (point < 0) {
                    return e.getKey();
                }
            }
        }
        throw new AssertionError("unreachable: point is below the total weight");
    }

    /** 64-bit FNV-1a of the key's UTF-8 bytes, then MurmurHash3's fmix64 to spread similar keys. */
    public static long hash(String key) {
        long h = FNV_OFFSET;
        for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= FNV_PRIME;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }

    @Override
    public String toString() {
        return "Router" + weights;
    }
}
