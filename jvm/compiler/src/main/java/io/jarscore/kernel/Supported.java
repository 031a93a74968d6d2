package io.jarscore.kernel;

import java.util.List;

/**
 * The one list of PMML the fast kernel handles. Anything else makes {@link KernelCompiler} throw
 * {@link UnsupportedPmmlException} naming the element, and the model is scored by JPMML-Evaluator.
 */
public final class Supported {

    private Supported() {
    }

    public static final List<String> ELEMENTS = List.of(
        "MiningModel: Segmentation sum, average, weightedAverage, modelChain (regression); "
            + "average, weightedAverage, majorityVote, weightedMajorityVote, modelChain (classification); "
            + "segments with <True/> predicates",
        "TreeModel: regression and classification (ScoreDistribution), missingValueStrategy none, "
            + "nullPrediction, lastPrediction, defaultChild; noTrueChildStrategy returnNullPrediction, "
            + "returnLastPrediction; trees with missingValueStrategy none whose splits are all True, False, "
            + "numeric comparisons with a constant (infinite ones only as 'any known value' or 'never', "
            + "as LightGBM writes x <= Infinity) or LightGBM's comparison-or-isMissing become a Forest table, "
            + "the others generated if/else code",
        "RegressionModel: regression (normalization none) and classification (binary logit, softmax) "
            + "with NumericPredictor (exponent 1) and CategoricalPredictor",
        "Predicates: True, False, SimplePredicate (all operators), SimpleSetPredicate (isIn, isNotIn), "
            + "CompoundPredicate (and, or, xor, surrogate)",
        "MiningField: missingValueReplacement; invalidValueTreatment returnInvalid, asIs, asMissing, asValue",
        "DataField: double, float, integer, string; Value lists and Interval domains",
        "DerivedField (TransformationDictionary, LocalTransformations): FieldRef, Constant, "
            + "Apply (+ - * /), NormContinuous (outliers asIs)",
        "Targets: rescaleFactor, rescaleConstant",
        "OutputField: predictedValue, probability (with value)",
        "x-mathContext=\"float\" (float32 arithmetic as JPMML-Evaluator does it)");
}
