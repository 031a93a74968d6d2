package io.jarscore;

import java.util.List;
import java.util.Map;

import io.jarscore.runtime.FieldSpec;

/**
 * One model artifact loaded for scoring in-process; see {@link Models#load}. Thread-safe: share one
 * instance between all threads. Close it to release its class loader.
 */
public interface ScoringModel extends AutoCloseable {

    /** The model's name, from the artifact's manifest. */
    String name();

    /** The artifact's version, from the manifest (or its directory name). */
    int version();

    /** What {@link #score(double[])} takes, in order; {@link #score(Map)} takes the same names. */
    List<FieldSpec> inputs();

    /** What a score returns: target fields first, then output fields (e.g. probabilities). */
    List<FieldSpec> outputs();

    /**
     * Scores one row given by input name. Numbers may be any {@link Number}; categorical values are
     * strings; a missing key or null is a missing value. Throws
     * {@link io.jarscore.runtime.ScoringException} naming the field and value when the row is invalid.
     */
    Map<String, Object> score(Map<String, ?> row);

    /**
     * Scores one row of numbers in {@link #inputs()} order; NaN is a missing value. With an active
     * kernel whose inputs are all numbers, the array goes to the kernel as it is.
     */
    Map<String, Object> score(double[] row);

    /**
     * The fast kernel's state: "active" (it scores, checked at load against JPMML-Evaluator on the
     * manifest's verification rows), or "absent: why" / "refused: why" / "unverified: why", when
     * JPMML-Evaluator scores every row.
     */
    String kernelStatus();

    @Override
    void close();
}
