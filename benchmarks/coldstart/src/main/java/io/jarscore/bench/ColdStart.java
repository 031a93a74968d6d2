package io.jarscore.bench;

import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

import io.jarscore.Models;
import io.jarscore.ScoringModel;

/**
 * The Java cold start the suite measures: what the README's Java quick start does, in a fresh JVM.
 * {@code Models.load} (file checks, the recorded verification outputs, the kernel's check) and one
 * {@code score(Map)}, then the wall clock and the result on stdout for the suite to check.
 *
 * <pre>ColdStart ARTIFACT_DIR name=value...</pre>
 *
 * A value that parses as a number is a number; {@code NaN} leaves the field out (missing); anything
 * else is a string.
 */
public final class ColdStart {

    private ColdStart() {
    }

    public static void main(String[] args) {
        Map<String, Object> row = new HashMap<>();
        for (int i = 1; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            String name = args[i].substring(0, eq);
            String value = args[i].substring(eq + 1);
            if (!value.equals("NaN")) {
                row.put(name, parse(value));
            }
        }
        try (ScoringModel model = Models.load(Path.of(args[0]))) {
            Map<String, Object> result = model.score(row);
            Instant now = Instant.now();
            System.out.println("at=" + now.getEpochSecond() + "." + String.format("%09d", now.getNano()));
            result.forEach((key, value) -> System.out.println("out " + key + "=" + value));
        }
    }

    private static Object parse(String value) {
        try {
            return Double.valueOf(value);
        } catch (NumberFormatException e) {
            return value;
        }
    }
}
