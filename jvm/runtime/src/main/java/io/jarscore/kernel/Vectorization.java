package io.jarscore.kernel;

import java.lang.System.Logger.Level;

/**
 * Whether the kernel's blocks of rows use SIMD: decided once, when the first forest scores a block,
 * as Apache Lucene's {@code VectorizationProvider} decides. The SIMD classes use the Vector API,
 * which is still an incubator module of the JDK: a JVM reads it only when started with
 * {@code --add-modules jdk.incubator.vector}. Without it (or with {@code -Djarscore.simd=false})
 * every block takes the scalar path, which finds the same leaves and sums: the choice changes speed,
 * never a score. The choice is logged once (System.Logger {@code io.jarscore.kernel}).
 */
public final class Vectorization {

    /** What a SIMD implementation of {@link LeafScan#block} provides. */
    interface Scan {
        void block(LeafScan scan, double[][] rows, int count, int kind, double[] sums, int[] leaves);

        /** Lanes, and the vector width, for the log line. */
        String describe();
    }

    static final String MODULE = "jdk.incubator.vector";
    static final String SWITCH = "jarscore.simd";
    private static final String IMPLEMENTATION = "io.jarscore.kernel.VectorLeafScan";
    private static final System.Logger LOG = System.getLogger("io.jarscore.kernel");

    /** The SIMD scan, or null for the scalar path. */
    static final Scan SCAN;
    private static final String DESCRIPTION;

    static {
        String[] why = new String[1];
        SCAN = load(why);
        DESCRIPTION = SCAN != null ? "SIMD (" + SCAN.describe() + ")" : "scalar: " + why[0];
        LOG.log(SCAN != null ? Level.DEBUG : Level.INFO, "jarscore kernel blocks: {0}", DESCRIPTION);
    }

    private Vectorization() {
    }

    /** "SIMD (...)" or "scalar: why", what the log line says. */
    public static String describe() {
        return DESCRIPTION;
    }

    /** Whether blocks of rows use SIMD in this JVM. */
    public static boolean simd() {
        return SCAN != null;
    }

    private static Scan load(String[] why) {
        if ("false".equalsIgnoreCase(System.getProperty(SWITCH))) {
            why[0] = "-D" + SWITCH + "=false";
            return null;
        }
        Module vector = ModuleLayer.boot().findModule(MODULE).orElse(null);
        if (vector == null || !Vectorization.class.getModule().canRead(vector)) {
            why[0] = MODULE + " is not in this JVM; start it with --add-modules " + MODULE + " for SIMD";
            return null;
        }
        try {
            return (Scan) Class.forName(IMPLEMENTATION).getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            why[0] = "the SIMD classes did not load (" + cause + ")";
            return null;
        }
    }
}
