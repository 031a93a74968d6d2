package io.jarscore.kernel;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.dmg.pmml.CompoundPredicate;
import org.dmg.pmml.DataField;
import org.dmg.pmml.DataType;
import org.dmg.pmml.DerivedField;
import org.dmg.pmml.False;
import org.dmg.pmml.InvalidValueTreatmentMethod;
import org.dmg.pmml.LocalTransformations;
import org.dmg.pmml.MathContext;
import org.dmg.pmml.MiningField;
import org.dmg.pmml.MiningFunction;
import org.dmg.pmml.Model;
import org.dmg.pmml.OpType;
import org.dmg.pmml.OutputField;
import org.dmg.pmml.PMML;
import org.dmg.pmml.Predicate;
import org.dmg.pmml.ResultFeature;
import org.dmg.pmml.SimplePredicate;
import org.dmg.pmml.SimpleSetPredicate;
import org.dmg.pmml.Target;
import org.dmg.pmml.Targets;
import org.dmg.pmml.True;
import org.dmg.pmml.Value;
import org.dmg.pmml.mining.MiningModel;
import org.dmg.pmml.mining.Segment;
import org.dmg.pmml.mining.Segmentation;
import org.dmg.pmml.regression.RegressionModel;
import org.dmg.pmml.regression.RegressionTable;
import org.dmg.pmml.tree.Node;
import org.dmg.pmml.tree.TreeModel;

/**
 * PMML to Java source for a {@link Kernel}: each tree becomes one static method (big trees split into
 * several), methods are spread over as many classes as the constant pool needs, and ensembles are
 * summed in chunks, so no method nears HotSpot's 8000-byte limit whatever the ensemble size. The
 * semantics copy JPMML-Evaluator 1.7 (three-valued predicates, missing-value strategies, float math).
 */
public final class KernelCompiler {

    /** Tree nodes per method: about 40 bytecode bytes each, so well under 8000 bytes. */
    static final int METHOD_NODES = 64;
    /** Tree nodes per class: a few constant-pool entries each, so well under 65535. */
    static final int CLASS_NODES = 6000;
    /** Segments per aggregation method. */
    static final int CHUNK = 100;

    /** Sources by class name; resources (the {@link Forest} tables) by JAR path, to pack beside the classes. */
    public record Result(String className, Map<String, String> sources, Map<String, byte[]> resources) {
    }

    private final PMML pmml;
    private final String className;
    private final String simpleName;
    private final String packageName;
    private final Map<String, DataField> dataFields = new LinkedHashMap<>();
    private final Map<String, Integer> slots = new LinkedHashMap<>();
    private final Map<Integer, FieldType> types = new HashMap<>();
    private final Map<String, String> derivedDefinitions = new HashMap<>();
    private final List<String> inputNames = new ArrayList<>();
    private final List<List<String>> tables = new ArrayList<>();
    private final List<Part> parts = new ArrayList<>();
    private final StringBuilder prepare = new StringBuilder();
    private final List<String> derivedCode = new ArrayList<>();
    private final IdentityHashMap<Node, Integer> sizes = new IdentityHashMap<>();
    /** The table-form trees, and the generated tree methods that read them (method to tree index). */
    private ForestBuilder forest;
    private final Map<String, Integer> forestTrees = new HashMap<>();
    /**
     * What a block of rows asks the forest for ({@link Forest#scoreBlocks}): triples of kind and
     * range, one per call of the forest: sums for a whole run of table trees (from zero), leaves
     * for a run among other trees (added onto the running total) and for class distributions.
     */
    private final List<Integer> plan = new ArrayList<>();
    /** Slots a model chain fills while a row is scored: a block cannot read them before. */
    private final java.util.Set<Integer> chainSlots = new java.util.HashSet<>();
    private List<String> classes;
    private int methodCount;
    private int setCount;

    private KernelCompiler(PMML pmml, String className) {
        this.pmml = pmml;
        this.className = className;
        int dot = className.lastIndexOf('.');
        this.packageName = dot < 0 ? "" : className.substring(0, dot);
        this.simpleName = className.substring(dot + 1);
    }

    /** Java sources (class name to text) of a kernel named {@code className}. */
    public static Result compile(PMML pmml, String className) throws UnsupportedPmmlException {
        return new KernelCompiler(pmml, className).run();
    }

    // ---------------------------------------------------------------------------------------------
    private enum Kind { DOUBLE, FLOAT, INTEGER, STRING }

    private record FieldType(Kind kind, boolean hasDomain) {
    }

    private static final class Part {
        final String name;
        final StringBuilder body = new StringBuilder();
        int nodes;

        Part(String name) {
            this.name = name;
        }
    }

    private static final class Method {
        final StringBuilder body = new StringBuilder();
        int nodes;
    }

    private Result run() throws UnsupportedPmmlException {
        for (DataField field : pmml.requireDataDictionary().getDataFields()) {
            dataFields.put(field.requireName(), field);
        }
        List<Model> models = pmml.getModels();
        if (models.size() != 1) {
            throw new UnsupportedPmmlException("expected one top-level model, found " + models.size());
        }
        Model top = models.get(0);
        String target = targetName(top);
        if (target == null) {
            throw new UnsupportedPmmlException("the model has no target field");
        }
        boolean classification = top.requireMiningFunction() == MiningFunction.CLASSIFICATION;
        if (!classification && top.requireMiningFunction() != MiningFunction.REGRESSION) {
            throw new UnsupportedPmmlException("mining function " + top.getMiningFunction().value());
        }
        if (classification) {
            DataField field = dataFields.get(target);
            classes = new ArrayList<>();
            for (Value v : field.getValues()) {
                if (v.getProperty() == null || v.getProperty() == Value.Property.VALID) {
                    classes.add(String.valueOf(v.requireValue()));
                }
            }
            if (classes.isEmpty()) {
                throw new UnsupportedPmmlException("target field '" + target + "' declares no classes");
            }
        }
        declareInputs(top);
        if (pmml.getTransformationDictionary() != null) {
            if (pmml.getTransformationDictionary().hasDefineFunctions()) {
                throw new UnsupportedPmmlException("DefineFunction");
            }
            for (DerivedField d : pmml.getTransformationDictionary().getDerivedFields()) {
                declareDerived(d);
            }
        }
        parts.add(new Part(simpleName + "_P0"));
        String ref = compileModel(top, classification);
        List<String> outputNames = new ArrayList<>();
        List<String> outputCode = new ArrayList<>();
        List<Boolean> labelOutputs = new ArrayList<>();
        outputNames.add(target);
        outputCode.add(classification ? "label < 0 ? Double.NaN : label" : "r");
        labelOutputs.add(classification);
        for (OutputField output : finalOutputs(top)) {
            ResultFeature feature = output.getResultFeature() == null ? ResultFeature.PREDICTED_VALUE : output.getResultFeature();
            String value;
            boolean label = false;
            if (feature == ResultFeature.PREDICTED_VALUE) {
                value = classification ? "label < 0 ? Double.NaN : label" : cast("r", output.getDataType());
                label = classification;
            } else if (feature == ResultFeature.PROBABILITY && classification && output.getValue() != null) {
                int k = classes.indexOf(String.valueOf(output.getValue()));
                if (k < 0) {
                    throw new UnsupportedPmmlException("output '" + output.getName() + "' names unknown class " + output.getValue());
                }
                value = "label < 0 ? Double.NaN : " + cast("p[" + k + "]", output.getDataType());
            } else {
                throw new UnsupportedPmmlException("OutputField '" + output.getName() + "' with feature " + feature.value());
            }
            outputNames.add(output.getName());
            outputCode.add(value);
            labelOutputs.add(label);
        }
        Map<String, String> sources = new LinkedHashMap<>();
        sources.put(className, mainClass(ref, classification, outputNames, outputCode, labelOutputs));
        for (Part part : parts) {
            sources.put(qualify(part.name), (packageName.isEmpty() ? "" : "package " + packageName + ";\n\n")
                + "import io.jarscore.kernel.Norms;\nimport io.jarscore.kernel.Tri;\n\nfinal class " + part.name
                + " {\n" + part.body + "}\n");
        }
        Map<String, byte[]> resources = new LinkedHashMap<>();
        if (forest != null && forest.trees() > 0) {
            resources.put(className.replace('.', '/') + ".forest", forest.bytes(slots.size()));
        }
        return new Result(className, sources, resources);
    }

    private String qualify(String name) {
        return packageName.isEmpty() ? name : packageName + "." + name;
    }

    private static String targetName(Model model) {
        for (MiningField field : model.requireMiningSchema().getMiningFields()) {
            MiningField.UsageType usage = field.getUsageType();
            if (usage == MiningField.UsageType.TARGET || usage == MiningField.UsageType.PREDICTED) {
                return field.requireName();
            }
        }
        return null;
    }

    /** Output fields JPMML reports: the top model's, plus the last segment's in a model chain. */
    private static List<OutputField> finalOutputs(Model model) {
        List<OutputField> out = new ArrayList<>();
        if (model.getOutput() != null) {
            for (OutputField f : model.getOutput().getOutputFields()) {
                if (f.isFinalResult()) {
                    out.add(f);
                }
            }
        }
        if (model instanceof MiningModel mining && mining.requireSegmentation().requireMultipleModelMethod()
            == Segmentation.MultipleModelMethod.MODEL_CHAIN) {
            List<Segment> segments = mining.requireSegmentation().requireSegments();
            out.addAll(finalOutputs(segments.get(segments.size() - 1).requireModel()));
        }
        return out;
    }

    // inputs and derived fields ------------------------------------------------------------------
    private void declareInputs(Model top) throws UnsupportedPmmlException {
        List<String> order = new ArrayList<>(dataFields.keySet());
        List<MiningField> active = new ArrayList<>();
        for (MiningField f : top.requireMiningSchema().getMiningFields()) {
            MiningField.UsageType usage = f.getUsageType();
            if (usage == null || usage == MiningField.UsageType.ACTIVE) {
                if (!dataFields.containsKey(f.requireName())) {
                    throw new UnsupportedPmmlException("input '" + f.getName() + "' is not a DataField");
                }
                active.add(f);
            }
        }
        active.sort((a, b) -> Integer.compare(order.indexOf(a.requireName()), order.indexOf(b.requireName())));
        int chunk = 0;
        StringBuilder method = null;
        for (int i = 0; i < active.size(); i++) {
            if (i % 64 == 0) {
                if (method != null) {
                    prepare.append(method).append("        return true;\n    }\n\n");
                }
                method = new StringBuilder("    private static boolean in" + (chunk++)
                    + "(double[] in, int o, double[] v) {\n        double x;\n");
            }
            declareInput(active.get(i), i, method);
        }
        if (method != null) {
            prepare.append(method).append("        return true;\n    }\n\n");
        }
    }

    private void declareInput(MiningField mining, int index, StringBuilder code) throws UnsupportedPmmlException {
        String name = mining.requireName();
        DataField field = dataFields.get(name);
        Kind kind = kindOf(field.requireDataType(), name);
        List<String> valid = new ArrayList<>();
        List<String> missingValues = new ArrayList<>();
        for (Value v : field.getValues()) {
            Value.Property property = v.getProperty();
            if (property == null || property == Value.Property.VALID) {
                valid.add(String.valueOf(v.requireValue()));
            } else if (property == Value.Property.MISSING) {
                missingValues.add(String.valueOf(v.requireValue()));
            } else {
                throw new UnsupportedPmmlException("DataField '" + name + "' Value property " + property.value());
            }
        }
        boolean hasDomain = !valid.isEmpty() && field.requireOpType() != OpType.CONTINUOUS;
        if (field.requireOpType() == OpType.CONTINUOUS && !valid.isEmpty()) {
            throw new UnsupportedPmmlException("continuous DataField '" + name + "' with a Value list");
        }
        if (mining.getOutlierTreatment() != null
            && mining.getOutlierTreatment() != org.dmg.pmml.OutlierTreatmentMethod.AS_IS) {
            throw new UnsupportedPmmlException("MiningField '" + name + "' invalid-value replacement or outlier treatment");
        }
        InvalidValueTreatmentMethod invalid = mining.getInvalidValueTreatment() == null
            ? InvalidValueTreatmentMethod.RETURN_INVALID : mining.getInvalidValueTreatment();
        Object invalidReplacement = mining.getInvalidValueReplacement();
        if (invalid == InvalidValueTreatmentMethod.AS_VALUE && invalidReplacement == null) {
            // PMML 4.4 renamed asIs to asValue; JPMML-Model reads "asIs" as asValue without a value.
            invalid = InvalidValueTreatmentMethod.AS_IS;
        }
        Object replacement = mining.getMissingValueReplacement();
        if (invalid == InvalidValueTreatmentMethod.AS_MISSING && replacement != null) {
            throw new UnsupportedPmmlException("MiningField '" + name + "' asMissing with a missingValueReplacement");
        }
        if (invalid != InvalidValueTreatmentMethod.RETURN_INVALID && invalid != InvalidValueTreatmentMethod.AS_IS
            && invalid != InvalidValueTreatmentMethod.AS_MISSING && invalid != InvalidValueTreatmentMethod.AS_VALUE) {
            throw new UnsupportedPmmlException("invalidValueTreatment " + invalid.value());
        }
        slots.put(name, index);
        types.put(index, new FieldType(kind, hasDomain));
        inputNames.add(name);
        tables.add(kind == Kind.STRING ? new ArrayList<>(valid) : null);
        String onInvalid = switch (invalid) {
            case RETURN_INVALID -> "return false;";
            case AS_MISSING -> "x = Double.NaN;";
            case AS_VALUE -> "x = " + lit(constant(index, String.valueOf(invalidReplacement))) + ";";
            default -> "";
        };
        code.append("        x = in[o + ").append(index).append("];\n");
        if (kind == Kind.FLOAT) {
            code.append("        x = (double) (float) x;\n"); // JPMML casts first, then checks the domain
        }
        for (String m : missingValues) {
            double value = constant(index, m);
            if (!Double.isNaN(value)) {
                // A value the DataField declares as meaning "missing".
                code.append("        if (x == ").append(lit(value)).append(") x = Double.NaN;\n");
            }
        }
        String validity = null;
        if (kind == Kind.STRING) {
            validity = hasDomain ? "x == " + lit(Kernel.UNKNOWN) : null;
        } else {
            List<String> conditions = new ArrayList<>();
            if (kind == Kind.INTEGER) {
                // JPMML cannot read a fractional value as an integer: leave the row to it.
                code.append("        if (x == x && (x != Math.rint(x) || Double.isInfinite(x))) return false;\n");
            }
            if (hasDomain) {
                StringBuilder in = new StringBuilder();
                for (String v : valid) {
                    in.append(in.length() == 0 ? "" : " && ").append("x != ").append(lit(Double.parseDouble(v)));
                }
                conditions.add(in.toString());
            }
            if (field.hasIntervals()) {
                StringBuilder out = new StringBuilder();
                for (org.dmg.pmml.Interval interval : field.getIntervals()) {
                    String left = interval.getLeftMargin() == null ? "true" : "x " + (interval.requireClosure().value().startsWith("closed") ? ">=" : ">") + " " + lit(parse(interval.getLeftMargin(), kind));
                    String right = interval.getRightMargin() == null ? "true" : "x " + (interval.requireClosure().value().endsWith("Closed") ? "<=" : "<") + " " + lit(parse(interval.getRightMargin(), kind));
                    out.append(out.length() == 0 ? "" : " && ").append("!(").append(left).append(" && ").append(right).append(")");
                }
                conditions.add(out.toString());
            }
            if (!conditions.isEmpty()) {
                validity = "(" + String.join(") || (", conditions) + ")";
            }
        }
        if (validity != null && !onInvalid.isEmpty()) {
            code.append("        if (x == x && (").append(validity).append(")) { ").append(onInvalid).append(" }\n");
        }
        if (replacement != null) {
            code.append("        if (x != x) x = ").append(lit(constant(index, String.valueOf(replacement)))).append(";\n");
        }
        if (kind == Kind.FLOAT && replacement != null) {
            code.append("        x = (double) (float) x;\n");
        }
        code.append("        v[").append(index).append("] = x;\n");
    }

    private static Kind kindOf(DataType type, String name) throws UnsupportedPmmlException {
        return switch (type) {
            case DOUBLE -> Kind.DOUBLE;
            case FLOAT -> Kind.FLOAT;
            case INTEGER -> Kind.INTEGER;
            case STRING -> Kind.STRING;
            default -> throw new UnsupportedPmmlException("field '" + name + "' of data type " + type.value());
        };
    }

    private void declareTransformations(LocalTransformations local) throws UnsupportedPmmlException {
        if (local != null) {
            for (DerivedField d : local.getDerivedFields()) {
                declareDerived(d);
            }
        }
    }

    private void declareDerived(DerivedField derived) throws UnsupportedPmmlException {
        String name = derived.requireName();
        Kind kind = kindOf(derived.requireDataType(), name);
        if (kind == Kind.STRING || kind == Kind.INTEGER) {
            throw new UnsupportedPmmlException("DerivedField '" + name + "' of type " + derived.getDataType().value());
        }
        String expression = expression(derived.requireExpression());
        String code = kind == Kind.FLOAT ? "(double) (float) (" + expression + ")" : expression;
        String known = derivedDefinitions.get(name);
        if (known != null) {
            if (!known.equals(code)) {
                throw new UnsupportedPmmlException("DerivedField '" + name + "' defined twice, differently");
            }
            return;
        }
        if (slots.containsKey(name)) {
            throw new UnsupportedPmmlException("DerivedField '" + name + "' shadows another field");
        }
        int slot = slots.size();
        slots.put(name, slot);
        types.put(slot, new FieldType(kind, false));
        derivedDefinitions.put(name, code);
        derivedCode.add("v[" + slot + "] = " + code + ";");
    }

    private String expression(org.dmg.pmml.Expression e) throws UnsupportedPmmlException {
        if (e instanceof org.dmg.pmml.FieldRef ref) {
            if (ref.getMapMissingTo() != null) {
                throw new UnsupportedPmmlException("FieldRef mapMissingTo");
            }
            int slot = numericSlot(ref.requireField());
            return "v[" + slot + "]";
        }
        if (e instanceof org.dmg.pmml.Constant c) {
            if (c.isMissing() || c.getValue() == null) {
                throw new UnsupportedPmmlException("missing Constant");
            }
            return lit(Double.parseDouble(String.valueOf(c.getValue())));
        }
        if (e instanceof org.dmg.pmml.Apply apply) {
            String f = apply.requireFunction();
            if (apply.getMapMissingTo() != null || apply.getDefaultValue() != null
                || !List.of("+", "-", "*", "/").contains(f) || apply.getExpressions().size() != 2) {
                throw new UnsupportedPmmlException("Apply function '" + f + "' (only binary + - * / without mapMissingTo)");
            }
            return "(" + expression(apply.getExpressions().get(0)) + " " + f + " " + expression(apply.getExpressions().get(1)) + ")";
        }
        if (e instanceof org.dmg.pmml.NormContinuous norm) {
            if (norm.getOutlierTreatment() != null && norm.getOutlierTreatment() != org.dmg.pmml.OutlierTreatmentMethod.AS_IS
                || norm.getLinearNorms().size() < 2) {
                throw new UnsupportedPmmlException("NormContinuous with outlier treatment other than asIs");
            }
            StringBuilder orig = new StringBuilder();
            StringBuilder normed = new StringBuilder();
            for (org.dmg.pmml.LinearNorm ln : norm.getLinearNorms()) {
                orig.append(lit(ln.requireOrig().doubleValue())).append(", ");
                normed.append(lit(ln.requireNorm().doubleValue())).append(", ");
            }
            double missing = norm.getMapMissingTo() == null ? Double.NaN : Double.parseDouble(String.valueOf(norm.getMapMissingTo()));
            return "Norms.linear(v[" + numericSlot(norm.requireField()) + "], new double[]{" + orig + "}, new double[]{"
                + normed + "}, " + lit(missing) + ")";
        }
        throw new UnsupportedPmmlException("expression " + e.getClass().getSimpleName());
    }

    private int numericSlot(String name) throws UnsupportedPmmlException {
        Integer slot = slots.get(name);
        if (slot == null) {
            throw new UnsupportedPmmlException("field '" + name + "' is not an input or a supported derived field");
        }
        if (types.get(slot).kind() == Kind.STRING) {
            throw new UnsupportedPmmlException("string field '" + name + "' used in arithmetic");
        }
        return slot;
    }

    // models -------------------------------------------------------------------------------------
    /** Compiles a model; returns the qualified static method: (v) -> double, or (v, p) -> int label. */
    private String compileModel(Model model, boolean classification) throws UnsupportedPmmlException {
        boolean floats = model.getMathContext() == MathContext.FLOAT;
        checkNestedSchema(model);
        declareTransformations(model.getLocalTransformations());
        if (classification != (model.requireMiningFunction() == MiningFunction.CLASSIFICATION)) {
            throw new UnsupportedPmmlException("a " + model.getMiningFunction().value() + " model where a "
                + (classification ? "classification" : "regression") + " model is needed");
        }
        if (classification && model.getTargets() != null) {
            throw new UnsupportedPmmlException("Targets on a classification model");
        }
        if (model instanceof TreeModel tree) {
            return compileTree(tree, classification, floats);
        }
        if (model instanceof MiningModel mining) {
            return compileMining(mining, classification, floats);
        }
        if (model instanceof RegressionModel regression) {
            return compileRegression(regression, classification, floats);
        }
        throw new UnsupportedPmmlException(model.getClass().getSimpleName());
    }

    private void checkNestedSchema(Model model) throws UnsupportedPmmlException {
        for (MiningField f : model.requireMiningSchema().getMiningFields()) {
            if (f.getUsageType() != null && f.getUsageType() != MiningField.UsageType.ACTIVE) {
                continue;
            }
            Integer slot = slots.get(f.requireName());
            boolean isInput = slot != null && slot < inputNames.size();
            boolean plain = f.getMissingValueReplacement() == null && f.getInvalidValueReplacement() == null
                && (f.getInvalidValueTreatment() == null || f.getInvalidValueTreatment() == InvalidValueTreatmentMethod.RETURN_INVALID)
                && (f.getOutlierTreatment() == null || f.getOutlierTreatment() == org.dmg.pmml.OutlierTreatmentMethod.AS_IS);
            if (!isInput && !plain) {
                throw new UnsupportedPmmlException("treatments on nested MiningField '" + f.getName() + "'");
            }
        }
    }

    private String rescale(Model model, String value, boolean floats) throws UnsupportedPmmlException {
        Targets targets = model.getTargets();
        if (targets == null) {
            return value;
        }
        if (targets.getTargets().size() != 1) {
            throw new UnsupportedPmmlException("Targets with " + targets.getTargets().size() + " Target elements");
        }
        Target t = targets.getTargets().get(0);
        if (t.getMin() != null || t.getMax() != null || t.getCastInteger() != null || t.hasTargetValues()) {
            throw new UnsupportedPmmlException("Target with min, max, castInteger or TargetValues");
        }
        double factor = t.getRescaleFactor() == null ? 1.0 : t.getRescaleFactor().doubleValue();
        double constant = t.getRescaleConstant() == null ? 0.0 : t.getRescaleConstant().doubleValue();
        if (floats) {
            return "Tri.f(Tri.f(" + value + " * " + lit((float) factor) + ") + " + lit((float) constant) + ")";
        }
        return "(" + value + " * " + lit(factor) + " + " + lit(constant) + ")";
    }

    // trees ----------------------------------------------------------------------------------------
    private String compileTree(TreeModel tree, boolean classification, boolean floats) throws UnsupportedPmmlException {
        TreeModel.MissingValueStrategy missing = tree.getMissingValueStrategy() == null
            ? TreeModel.MissingValueStrategy.NONE : tree.getMissingValueStrategy();
        if (missing != TreeModel.MissingValueStrategy.NONE && missing != TreeModel.MissingValueStrategy.NULL_PREDICTION
            && missing != TreeModel.MissingValueStrategy.LAST_PREDICTION && missing != TreeModel.MissingValueStrategy.DEFAULT_CHILD) {
            throw new UnsupportedPmmlException("TreeModel missingValueStrategy " + missing.value());
        }
        Node root = tree.requireNode();
        if (!(root.requirePredicate() instanceof True)) {
            throw new UnsupportedPmmlException("TreeModel root predicate other than True");
        }
        TreeContext ctx = new TreeContext(tree, classification, floats, missing);
        // One forest per kernel, its leaves sized by the first table tree: regression leaves carry
        // no class probabilities, so a classification tree after regression ones stays if/else.
        boolean table = missing == TreeModel.MissingValueStrategy.NONE && tableable(root)
            && (forest == null || !classification || forest.classes() > 0);
        String method = table ? forestMethod(root, ctx) : nodeMethod(root, ctx);
        if (tree.getTargets() == null) {
            return method;
        }
        String name = "m" + (methodCount++);
        Part part = partFor(1);
        part.body.append("    static double ").append(name).append("(double[] v) {\n        return ")
            .append(rescale(tree, method + "(v)", floats)).append(";\n    }\n\n");
        return part.name + "." + name;
    }

    private record TreeContext(TreeModel tree, boolean classification, boolean floats,
                               TreeModel.MissingValueStrategy missing) {
    }

    private int size(Node node) {
        Integer known = sizes.get(node);
        if (known != null) {
            return known;
        }
        int n = 1 + predicateWeight(node.getPredicate());
        if (node.hasNodes()) {
            for (Node child : node.getNodes()) {
                n += size(child);
            }
        }
        sizes.put(node, n);
        return n;
    }

    private static int predicateWeight(Predicate p) {
        if (p instanceof CompoundPredicate c) {
            int n = 0;
            for (Predicate q : c.getPredicates()) {
                n += predicateWeight(q);
            }
            return n;
        }
        return 0;
    }

    private String nodeMethod(Node node, TreeContext ctx) throws UnsupportedPmmlException {
        String name = "t" + (methodCount++);
        Method m = new Method();
        emitTrue(node, ctx, m, 0, "        ");
        Part part = partFor(m.nodes);
        String signature = ctx.classification ? "static int " + name + "(double[] v, double[] p)"
            : "static double " + name + "(double[] v)";
        part.body.append("    ").append(signature).append(" {\n").append(m.body).append("    }\n\n");
        return part.name + "." + name;
    }

    private Part partFor(int nodes) {
        Part part = parts.get(parts.size() - 1);
        if (part.nodes > 0 && part.nodes + nodes > CLASS_NODES) {
            part = new Part(simpleName + "_P" + parts.size());
            parts.add(part);
        }
        part.nodes += Math.max(nodes, 1);
        return part;
    }

    /** Code for a node whose predicate is true: always ends in a return. */
    private void emitTrue(Node node, TreeContext ctx, Method m, int depth, String indent) throws UnsupportedPmmlException {
        m.nodes += 1;
        if (!node.hasNodes()) {
            emitResult(node, ctx, m, indent);
            return;
        }
        List<Node> children = node.getNodes();
        String c = "c" + depth;
        m.body.append(indent).append("int ").append(c).append(" = -1;\n");
        m.body.append(indent).append("s").append(depth).append(": {\n");
        String in = indent + "    ";
        m.body.append(in).append("int s;\n");
        for (int i = 0; i < children.size(); i++) {
            Node child = children.get(i);
            m.body.append(in).append("s = ").append(predicate(child.requirePredicate())).append(";\n");
            m.body.append(in).append("if (s == 1) { ").append(c).append(" = ").append(i).append("; break s").append(depth).append("; }\n");
            String onMissing = switch (ctx.missing) {
                case NULL_PREDICTION -> c + " = -2; break s" + depth + ";";
                case LAST_PREDICTION -> c + " = -3; break s" + depth + ";";
                case DEFAULT_CHILD -> c + " = " + defaultChildIndex(node) + "; break s" + depth + ";";
                default -> null;
            };
            if (onMissing != null) {
                m.body.append(in).append("if (s < 0) { ").append(onMissing).append(" }\n");
            }
        }
        m.body.append(indent).append("}\n");
        if (ctx.missing == TreeModel.MissingValueStrategy.NULL_PREDICTION) {
            m.body.append(indent).append("if (").append(c).append(" == -2) ").append(nullReturn(ctx)).append('\n');
        }
        if (ctx.missing == TreeModel.MissingValueStrategy.LAST_PREDICTION) {
            m.body.append(indent).append("if (").append(c).append(" == -3) {\n");
            emitResult(node, ctx, m, in);
            m.body.append(indent).append("}\n");
        }
        for (int i = 0; i < children.size(); i++) {
            Node child = children.get(i);
            m.body.append(indent).append("if (").append(c).append(" == ").append(i).append(") {\n");
            int weight = size(child);
            if (child.hasNodes() && m.nodes + weight > METHOD_NODES) {
                String sub = nodeMethod(child, ctx);
                m.body.append(in).append("return ").append(sub).append(ctx.classification ? "(v, p);\n" : "(v);\n");
            } else {
                emitTrue(child, ctx, m, depth + 1, in);
            }
            m.body.append(indent).append("}\n");
        }
        TreeModel.NoTrueChildStrategy noTrue = ctx.tree.getNoTrueChildStrategy() == null
            ? TreeModel.NoTrueChildStrategy.RETURN_NULL_PREDICTION : ctx.tree.getNoTrueChildStrategy();
        if (noTrue == TreeModel.NoTrueChildStrategy.RETURN_LAST_PREDICTION) {
            emitResult(node, ctx, m, indent);
        } else {
            m.body.append(indent).append(nullReturn(ctx)).append('\n');
        }
    }

    private static int defaultChildIndex(Node node) throws UnsupportedPmmlException {
        Object id = node.getDefaultChild();
        if (id == null) {
            throw new UnsupportedPmmlException("defaultChild strategy on a Node without defaultChild");
        }
        List<Node> children = node.getNodes();
        for (int i = 0; i < children.size(); i++) {
            if (id.toString().equals(String.valueOf(children.get(i).getId()))) {
                return i;
            }
        }
        throw new UnsupportedPmmlException("defaultChild '" + id + "' is not a child of its Node");
    }

    private static String nullReturn(TreeContext ctx) {
        return ctx.classification ? "return -1;" : "return Double.NaN;";
    }

    private void emitResult(Node node, TreeContext ctx, Method m, String indent) throws UnsupportedPmmlException {
        Object score = node.getScore();
        if (!ctx.classification) {
            if (score == null) {
                m.body.append(indent).append("return Double.NaN;\n");
                return;
            }
            double value = ctx.floats ? (double) Float.parseFloat(score.toString()) : Double.parseDouble(score.toString());
            m.body.append(indent).append("return ").append(lit(value)).append(";\n");
            return;
        }
        if (score == null) {
            m.body.append(indent).append("return -1;\n");
            return;
        }
        int label = classes.indexOf(score.toString());
        double[] probabilities = distribution(node, label);
        for (int k = 0; k < probabilities.length; k++) {
            m.body.append(indent).append("p[").append(k).append("] = ").append(lit(probabilities[k])).append(";\n");
        }
        m.body.append(indent).append("return ").append(label).append(";\n");
    }

    /** A classification leaf's probabilities by class index, as JPMML-Evaluator reads its ScoreDistributions. */
    private double[] distribution(Node node, int label) throws UnsupportedPmmlException {
        if (label < 0 || !node.hasScoreDistributions()) {
            throw new UnsupportedPmmlException("tree leaf with score '" + node.getScore() + "' and no ScoreDistribution");
        }
        double[] probabilities = new double[classes.size()];
        boolean explicit = true;
        double total = 0;
        for (org.dmg.pmml.ScoreDistribution d : node.getScoreDistributions()) {
            explicit &= d.getProbability() != null;
            total += d.requireRecordCount().doubleValue();
        }
        for (org.dmg.pmml.ScoreDistribution d : node.getScoreDistributions()) {
            int k = classes.indexOf(String.valueOf(d.requireValue()));
            if (k < 0) {
                throw new UnsupportedPmmlException("ScoreDistribution for unknown class " + d.getValue());
            }
            probabilities[k] = explicit ? d.getProbability().doubleValue() : d.requireRecordCount().doubleValue() / total;
        }
        return probabilities;
    }

    // trees as tables ------------------------------------------------------------------------------
    /** Whether every split below {@code node} is True, False or a {@link #tableSplit}. */
    private boolean tableable(Node node) {
        if (!node.hasNodes()) {
            return true;
        }
        for (Node child : node.getNodes()) {
            Predicate p = child.getPredicate();
            boolean ok = p instanceof True || p instanceof False || tableSplit(p) != null;
            if (!ok || !tableable(child)) {
                return false;
            }
        }
        return true;
    }

    /** A predicate as one table split: {@code v[slot] * sign <= threshold}, or its negation when {@code negated}. */
    private record TableSplit(int slot, double sign, double threshold, boolean negated) {
    }

    /**
     * The table split of a comparison of a number with a constant (see {@link #comparison}), or
     * of LightGBM's "comparison or isMissing" (true for a missing value: the negated opposite
     * comparison); null for any other predicate.
     */
    private TableSplit tableSplit(Predicate p) {
        if (p instanceof CompoundPredicate compound && compound.getBooleanOperator() == CompoundPredicate.BooleanOperator.OR
            && compound.getPredicates().size() == 2) {
            Predicate a = compound.getPredicates().get(0);
            Predicate b = compound.getPredicates().get(1);
            SimplePredicate missing = (SimplePredicate) (isMissingTest(a) ? a : isMissingTest(b) ? b : null);
            Predicate other = missing == a ? b : a;
            if (missing == null || !(other instanceof SimplePredicate comparison) || !missing.getField().equals(comparison.getField())) {
                return null;
            }
            SimplePredicate.Operator opposite = switch (comparison.getOperator()) {
                case LESS_THAN -> SimplePredicate.Operator.GREATER_OR_EQUAL;
                case LESS_OR_EQUAL -> SimplePredicate.Operator.GREATER_THAN;
                case GREATER_THAN -> SimplePredicate.Operator.LESS_OR_EQUAL;
                case GREATER_OR_EQUAL -> SimplePredicate.Operator.LESS_THAN;
                default -> null;
            };
            TableSplit split = opposite == null ? null : comparison(comparison.getField(), opposite, comparison.getValue());
            return split == null ? null : new TableSplit(split.slot(), split.sign(), split.threshold(), true);
        }
        if (p instanceof SimplePredicate simple) {
            return comparison(simple.getField(), simple.getOperator(), simple.getValue());
        }
        return null;
    }

    private static boolean isMissingTest(Predicate p) {
        return p instanceof SimplePredicate s && s.getOperator() == SimplePredicate.Operator.IS_MISSING;
    }

    private TableSplit comparison(String field, SimplePredicate.Operator op, Object value) {
        Integer slot = slots.get(field);
        if (slot == null || types.get(slot).kind() == Kind.STRING || value == null || op == null) {
            return null;
        }
        double t;
        try {
            t = constant(slot, String.valueOf(value));
        } catch (UnsupportedPmmlException e) {
            return null;
        }
        // Forest inputs read a missing value as +infinity and an infinite one as the largest finite
        // double of its sign (Forest.widen), so the normalized threshold must lie strictly between
        // -MAX_VALUE and MAX_VALUE, or be MAX_VALUE for "any known value" or -infinity for "never".
        // Comparisons with an infinite constant are those two, or else left to the generated code.
        if (t == Double.POSITIVE_INFINITY && op == SimplePredicate.Operator.LESS_OR_EQUAL
            || t == Double.NEGATIVE_INFINITY && op == SimplePredicate.Operator.GREATER_OR_EQUAL) {
            return new TableSplit(slot, op == SimplePredicate.Operator.LESS_OR_EQUAL ? 1.0 : -1.0, Double.MAX_VALUE, false);
        }
        if (t == Double.NEGATIVE_INFINITY && op == SimplePredicate.Operator.LESS_THAN
            || t == Double.POSITIVE_INFINITY && op == SimplePredicate.Operator.GREATER_THAN) {
            return new TableSplit(slot, op == SimplePredicate.Operator.LESS_THAN ? 1.0 : -1.0, Double.NEGATIVE_INFINITY, false);
        }
        TableSplit split = switch (op) {
            case LESS_OR_EQUAL -> new TableSplit(slot, 1.0, t, false);
            case LESS_THAN -> new TableSplit(slot, 1.0, Math.nextDown(t), false);
            case GREATER_THAN -> new TableSplit(slot, -1.0, Math.nextDown(-t), false);
            case GREATER_OR_EQUAL -> new TableSplit(slot, -1.0, -t, false);
            default -> null;
        };
        return split != null && Math.abs(split.threshold()) < Double.MAX_VALUE ? split : null;
    }

    /** Adds the tree to the kernel's {@link Forest}; returns a method reading it, with nodeMethod's signature. */
    private String forestMethod(Node root, TreeContext ctx) throws UnsupportedPmmlException {
        if (forest == null) {
            forest = new ForestBuilder(ctx.classification() ? classes.size() : 0);
        }
        int[] entry = forestEntry(root, ctx);
        int index = forest.tree(entry[0], entry[1]);
        String name = "t" + (methodCount++);
        Part part = partFor(1);
        if (ctx.classification) {
            part.body.append("    static int ").append(name).append("(double[] v, double[] p) {\n        return ")
                .append(simpleName).append(".FOREST.label(").append(index).append(", v, p);\n    }\n\n");
        } else {
            part.body.append("    static double ").append(name).append("(double[] v) {\n        return ")
                .append(simpleName).append(".FOREST.value(").append(index).append(", v);\n    }\n\n");
        }
        String ref = part.name + "." + name;
        forestTrees.put(ref, index);
        return ref;
    }

    /** The table node that evaluates {@code node} (its predicate already true), and the splits below it. */
    private int[] forestEntry(Node node, TreeContext ctx) throws UnsupportedPmmlException {
        return node.hasNodes() ? forestChildren(node, 0, ctx) : forestLeaf(node, ctx);
    }

    /**
     * Children {@code i..} of {@code node} tried in order, as PMML does: the first whose predicate is
     * true is entered; an unknown (missing) comparison counts as false under missingValueStrategy
     * none; when none is true, noTrueChildStrategy decides.
     */
    private int[] forestChildren(Node node, int i, TreeContext ctx) throws UnsupportedPmmlException {
        List<Node> children = node.getNodes();
        if (i == children.size()) {
            boolean last = ctx.tree().getNoTrueChildStrategy() == TreeModel.NoTrueChildStrategy.RETURN_LAST_PREDICTION;
            return last ? forestLeaf(node, ctx) : forestNull(ctx);
        }
        Node child = children.get(i);
        Predicate p = child.requirePredicate();
        if (p instanceof True) {
            return forestEntry(child, ctx);
        }
        if (p instanceof False) {
            return forestChildren(node, i + 1, ctx);
        }
        TableSplit table = tableSplit(p);
        if (table == null) {
            throw new UnsupportedPmmlException("predicate " + p.getClass().getSimpleName() + " in a table tree");
        }
        int split = forest.split(table.slot(), table.sign(), table.threshold());
        int[] whenTrue = forestEntry(child, ctx);
        int[] whenFalse = forestChildren(node, i + 1, ctx);
        if (table.negated()) {
            forest.link(split, whenFalse[0], whenTrue[0]);
        } else {
            forest.link(split, whenTrue[0], whenFalse[0]);
        }
        return new int[]{split, 1 + Math.max(whenTrue[1], whenFalse[1])};
    }

    private int[] forestLeaf(Node node, TreeContext ctx) throws UnsupportedPmmlException {
        Object score = node.getScore();
        if (!ctx.classification()) {
            double value = score == null ? Double.NaN
                : ctx.floats() ? (double) Float.parseFloat(score.toString()) : Double.parseDouble(score.toString());
            return new int[]{forest.leaf(value), 0};
        }
        if (score == null) {
            return forestNull(ctx);
        }
        int label = classes.indexOf(score.toString());
        return new int[]{forest.leaf(label, distribution(node, label)), 0};
    }

    private int[] forestNull(TreeContext ctx) {
        return new int[]{ctx.classification() ? forest.leaf(-1, null) : forest.leaf(Double.NaN), 0};
    }

    // predicates -----------------------------------------------------------------------------------
    private String predicate(Predicate p) throws UnsupportedPmmlException {
        if (p instanceof True) {
            return "1";
        }
        if (p instanceof False) {
            return "0";
        }
        if (p instanceof SimplePredicate simple) {
            int slot = slotOf(simple.requireField());
            String x = "v[" + slot + "]";
            SimplePredicate.Operator op = simple.requireOperator();
            if (op == SimplePredicate.Operator.IS_MISSING) {
                return "Tri.missing(" + x + ")";
            }
            if (op == SimplePredicate.Operator.IS_NOT_MISSING) {
                return "Tri.present(" + x + ")";
            }
            boolean string = types.get(slot).kind() == Kind.STRING;
            if (string && op != SimplePredicate.Operator.EQUAL && op != SimplePredicate.Operator.NOT_EQUAL) {
                throw new UnsupportedPmmlException("operator " + op.value() + " on string field '" + simple.getField() + "'");
            }
            String t = lit(constant(slot, String.valueOf(simple.requireValue())));
            String f = switch (op) {
                case EQUAL -> "eq";
                case NOT_EQUAL -> "ne";
                case LESS_THAN -> "lt";
                case LESS_OR_EQUAL -> "le";
                case GREATER_THAN -> "gt";
                case GREATER_OR_EQUAL -> "ge";
                default -> throw new UnsupportedPmmlException("operator " + op.value());
            };
            return "Tri." + f + "(" + x + ", " + t + ")";
        }
        if (p instanceof SimpleSetPredicate set) {
            int slot = slotOf(set.requireField());
            StringBuilder values = new StringBuilder();
            for (String token : ArrayTokens.split(String.valueOf(set.requireArray().getValue()))) {
                values.append(lit(constant(slot, token))).append(' ');
            }
            String name = "S" + (setCount++);
            Part part = parts.get(parts.size() - 1);
            part.body.append("    static final double[] ").append(name).append(" = Tri.set(\"").append(values.toString().trim()).append("\");\n");
            String f = set.requireBooleanOperator() == SimpleSetPredicate.BooleanOperator.IS_IN ? "in" : "notIn";
            return "Tri." + f + "(v[" + slot + "], " + part.name + "." + name + ")";
        }
        if (p instanceof CompoundPredicate compound) {
            String f = switch (compound.requireBooleanOperator()) {
                case AND -> "and";
                case OR -> "or";
                case XOR -> "xor";
                case SURROGATE -> "surrogate";
            };
            List<Predicate> parts = compound.getPredicates();
            String result = predicate(parts.get(0));
            for (int i = 1; i < parts.size(); i++) {
                result = "Tri." + f + "(" + result + ", " + predicate(parts.get(i)) + ")";
            }
            return result;
        }
        throw new UnsupportedPmmlException("predicate " + p.getClass().getSimpleName());
    }

    private int slotOf(String field) throws UnsupportedPmmlException {
        Integer slot = slots.get(field);
        if (slot == null) {
            throw new UnsupportedPmmlException("field '" + field + "' is not an input or a supported derived field");
        }
        return slot;
    }

    /** A PMML value as the field holds it: the number in the field's precision, or a string's code. */
    private double constant(int slot, String value) throws UnsupportedPmmlException {
        FieldType type = types.get(slot);
        switch (type.kind()) {
            case STRING: {
                List<String> table = tables.get(slot);
                int code = table.indexOf(value);
                if (code < 0 && (!type.hasDomain() || slot < inputNames.size() && isDeclaredMissing(slot, value))) {
                    table.add(value);
                    code = table.size() - 1;
                }
                return code < 0 ? -3.0 : code; // a value outside the domain can never match
            }
            case FLOAT:
                return (double) Float.parseFloat(value);
            default:
                try {
                    return Double.parseDouble(value);
                } catch (NumberFormatException e) {
                    throw new UnsupportedPmmlException("value '" + value + "' for a numeric field");
                }
        }
    }

    private boolean isDeclaredMissing(int slot, String value) {
        for (Value v : dataFields.get(inputNames.get(slot)).getValues()) {
            if (v.getProperty() == Value.Property.MISSING && value.equals(String.valueOf(v.getValue()))) {
                return true;
            }
        }
        return false;
    }

    // ensembles ------------------------------------------------------------------------------------
    private String compileMining(MiningModel mining, boolean classification, boolean floats) throws UnsupportedPmmlException {
        Segmentation segmentation = mining.requireSegmentation();
        declareTransformations(segmentation.getLocalTransformations());
        if (segmentation.getMissingPredictionTreatment() != null
            && segmentation.getMissingPredictionTreatment() != Segmentation.MissingPredictionTreatment.RETURN_MISSING) {
            throw new UnsupportedPmmlException("missingPredictionTreatment " + segmentation.getMissingPredictionTreatment().value());
        }
        List<Segment> segments = segmentation.requireSegments();
        for (Segment s : segments) {
            if (!(s.requirePredicate() instanceof True)) {
                throw new UnsupportedPmmlException("Segment predicate other than True");
            }
        }
        Segmentation.MultipleModelMethod method = segmentation.requireMultipleModelMethod();
        if (method == Segmentation.MultipleModelMethod.MODEL_CHAIN) {
            return compileChain(mining, segments, classification, floats);
        }
        List<String> refs = new ArrayList<>();
        double[] weights = new double[segments.size()];
        for (int i = 0; i < segments.size(); i++) {
            Segment s = segments.get(i);
            if (s.requireModel().getOutput() != null && !s.requireModel().getOutput().getOutputFields().isEmpty()) {
                throw new UnsupportedPmmlException("Output on an aggregated segment");
            }
            refs.add(compileModel(s.requireModel(), classification));
            weights[i] = s.getWeight() == null ? 1.0 : s.getWeight().doubleValue();
        }
        if (!classification) {
            return aggregateValues(mining, method, refs, weights, floats);
        }
        return aggregateDistributions(method, refs, weights, floats);
    }

    private String aggregateValues(MiningModel mining, Segmentation.MultipleModelMethod method, List<String> refs,
                                   double[] weights, boolean floats) throws UnsupportedPmmlException {
        boolean weighted = method == Segmentation.MultipleModelMethod.WEIGHTED_AVERAGE;
        if (method != Segmentation.MultipleModelMethod.SUM && method != Segmentation.MultipleModelMethod.AVERAGE && !weighted) {
            throw new UnsupportedPmmlException("Segmentation " + method.value() + " for regression");
        }
        List<String> chunks = new ArrayList<>();
        boolean oneRun = !weighted && !refs.isEmpty();
        for (int i = 0; i < refs.size() && oneRun; i++) {
            oneRun = forestTrees.get(refs.get(i)) != null && forestTrees.get(refs.get(i)) == forestTrees.get(refs.get(0)) + i;
        }
        for (int from = 0; from < refs.size() && !oneRun; from += CHUNK) {
            String name = "a" + (methodCount++);
            Part part = partFor(1);
            StringBuilder b = new StringBuilder("    static double " + name + "(double[] v, double acc) {\n");
            for (int i = from; i < Math.min(refs.size(), from + CHUNK); i++) {
                Integer first = weighted ? null : forestTrees.get(refs.get(i));
                if (first != null) {
                    // consecutive table trees: one call walks them together, in the same order
                    int to = i + 1;
                    while (to < Math.min(refs.size(), from + CHUNK) && Integer.valueOf(first + to - i).equals(forestTrees.get(refs.get(to)))) {
                        to++;
                    }
                    plan.addAll(List.of(Forest.LEAVES, first, first + to - i));
                    b.append("        acc = ").append(simpleName).append(".FOREST.").append(floats ? "sumFloat" : "sum")
                        .append("(v, ").append(first).append(", ").append(first + to - i).append(", acc);\n");
                    i = to - 1;
                    continue;
                }
                String term = refs.get(i) + "(v)";
                if (weighted) {
                    term = floats ? "Tri.f(" + lit((float) weights[i]) + " * " + term + ")" : lit(weights[i]) + " * " + term;
                }
                b.append(floats ? "        acc = Tri.f(acc + " + term + ");\n" : "        acc += " + term + ";\n");
            }
            part.body.append(b).append("        return acc;\n    }\n\n");
            chunks.add(part.name + "." + name);
        }
        // Sequential, from zero, then the Target's rescaling: JPMML-Evaluator's own order (its
        // SimpleFloatVector sums float32 values one by one), which float32 results depend on.
        StringBuilder b = new StringBuilder("        double acc = 0.0;\n");
        if (oneRun) {
            int first = forestTrees.get(refs.get(0));
            plan.addAll(List.of(floats ? Forest.SUM_FLOAT : Forest.SUM, first, first + refs.size()));
            b.append("        acc = ").append(simpleName).append(".FOREST.").append(floats ? "sumFloat" : "sum")
                .append("(v, ").append(first).append(", ").append(first + refs.size()).append(", acc);\n");
        }
        for (String chunk : chunks) {
            b.append("        acc = ").append(chunk).append("(v, acc);\n");
        }
        String value = "acc";
        if (method == Segmentation.MultipleModelMethod.AVERAGE) {
            value = floats ? "Tri.f(acc / " + lit((float) refs.size()) + ")" : "acc / " + lit(refs.size());
        } else if (weighted) {
            double total = 0;
            for (double w : weights) {
                total = floats ? (float) (total + (float) w) : total + w;
            }
            value = floats ? "Tri.f(acc / " + lit((float) total) + ")" : "acc / " + lit(total);
        }
        String name = "m" + (methodCount++);
        Part part = partFor(1);
        part.body.append("    static double ").append(name).append("(double[] v) {\n").append(b)
            .append("        return ").append(rescale(mining, value, floats)).append(";\n    }\n\n");
        return part.name + "." + name;
    }

    private String aggregateDistributions(Segmentation.MultipleModelMethod method, List<String> refs, double[] weights,
                                          boolean floats) throws UnsupportedPmmlException {
        boolean vote = method == Segmentation.MultipleModelMethod.MAJORITY_VOTE
            || method == Segmentation.MultipleModelMethod.WEIGHTED_MAJORITY_VOTE;
        boolean weighted = method == Segmentation.MultipleModelMethod.WEIGHTED_AVERAGE
            || method == Segmentation.MultipleModelMethod.WEIGHTED_MAJORITY_VOTE;
        if (!vote && method != Segmentation.MultipleModelMethod.AVERAGE && !weighted || floats) {
            throw new UnsupportedPmmlException("Segmentation " + method.value() + " for classification"
                + (floats ? " in float math" : ""));
        }
        int k = classes.size();
        List<String> chunks = new ArrayList<>();
        for (int from = 0; from < refs.size(); from += CHUNK) {
            String name = "a" + (methodCount++);
            Part part = partFor(1);
            StringBuilder b = new StringBuilder("    static boolean " + name + "(double[] v, double[] acc, double[] p) {\n");
            for (int i = from; i < Math.min(refs.size(), from + CHUNK); i++) {
                Integer first = weighted ? null : forestTrees.get(refs.get(i));
                if (first != null) {
                    // consecutive table trees: walked together, added in the same order
                    int to = i + 1;
                    while (to < Math.min(refs.size(), from + CHUNK) && Integer.valueOf(first + to - i).equals(forestTrees.get(refs.get(to)))) {
                        to++;
                    }
                    plan.addAll(List.of(Forest.LEAVES, first, first + to - i));
                    b.append("        if (!").append(simpleName).append(".FOREST.addAll(v, acc, p, ").append(first).append(", ")
                        .append(first + to - i).append(", ").append(vote).append(")) return false;\n");
                    i = to - 1;
                    continue;
                }
                double w = weighted ? weights[i] : 1.0;
                b.append("        if (!Norms.").append(vote ? "vote" : "add").append("(acc, p, ").append(refs.get(i))
                    .append("(v, p), ").append(lit(w)).append(")) return false;\n");
            }
            part.body.append(b).append("        return true;\n    }\n\n");
            chunks.add(part.name + "." + name);
        }
        double total = 0;
        for (int i = 0; i < refs.size(); i++) {
            total += weighted ? weights[i] : 1.0;
        }
        String name = "m" + (methodCount++);
        Part part = partFor(1);
        StringBuilder b = new StringBuilder("    static int " + name + "(double[] v, double[] p) {\n");
        // votes also record the order classes first got one (ties, as in Norms.vote)
        b.append("        double[] acc = new double[").append(vote ? 2 * k + 1 : k).append("];\n");
        for (String chunk : chunks) {
            b.append("        if (!").append(chunk).append("(v, acc, p)) return -1;\n");
        }
        b.append("        return Norms.divide(acc, p, ").append(lit(total)).append(");\n    }\n\n");
        part.body.append(b);
        return part.name + "." + name;
    }

    private String compileChain(MiningModel mining, List<Segment> segments, boolean classification, boolean floats)
        throws UnsupportedPmmlException {
        if (mining.getTargets() != null) {
            throw new UnsupportedPmmlException("Targets on a modelChain");
        }
        StringBuilder b = new StringBuilder();
        String last = null;
        for (int i = 0; i < segments.size(); i++) {
            Model model = segments.get(i).requireModel();
            boolean isLast = i == segments.size() - 1;
            String ref = compileModel(model, isLast && classification);
            if (isLast) {
                last = ref;
                break;
            }
            b.append("        r = ").append(ref).append("(v);\n");
            if (model.getOutput() == null) {
                continue;
            }
            for (OutputField out : model.getOutput().getOutputFields()) {
                ResultFeature feature = out.getResultFeature() == null ? ResultFeature.PREDICTED_VALUE : out.getResultFeature();
                if (feature != ResultFeature.PREDICTED_VALUE || out.getSegmentId() != null) {
                    throw new UnsupportedPmmlException("chained OutputField '" + out.getName() + "' with feature " + feature.value());
                }
                String name = out.requireName();
                if (!slots.containsKey(name)) {
                    int slot = slots.size();
                    slots.put(name, slot);
                    types.put(slot, new FieldType(out.getDataType() == DataType.FLOAT ? Kind.FLOAT : Kind.DOUBLE, false));
                }
                chainSlots.add(slots.get(name));
                b.append("        v[").append(slots.get(name)).append("] = ").append(cast("r", out.getDataType())).append(";\n");
            }
        }
        String name = "m" + (methodCount++);
        Part part = partFor(1);
        if (classification) {
            part.body.append("    static int ").append(name).append("(double[] v, double[] p) {\n        double r;\n")
                .append(b).append("        return ").append(last).append("(v, p);\n    }\n\n");
        } else {
            part.body.append("    static double ").append(name).append("(double[] v) {\n        double r;\n")
                .append(b).append("        return ").append(last).append("(v);\n    }\n\n");
        }
        return part.name + "." + name;
    }

    // regression -----------------------------------------------------------------------------------
    private String compileRegression(RegressionModel model, boolean classification, boolean floats)
        throws UnsupportedPmmlException {
        RegressionModel.NormalizationMethod norm = model.getNormalizationMethod() == null
            ? RegressionModel.NormalizationMethod.NONE : model.getNormalizationMethod();
        List<RegressionTable> tables = model.getRegressionTables();
        String name = "m" + (methodCount++);
        Part part = partFor(1);
        StringBuilder b = new StringBuilder();
        if (!classification) {
            if (tables.size() != 1 || norm != RegressionModel.NormalizationMethod.NONE) {
                throw new UnsupportedPmmlException("regression RegressionModel with " + tables.size()
                    + " tables and normalization " + norm.value());
            }
            b.append("    static double ").append(name).append("(double[] v) {\n");
            b.append("        double y = ").append(table(tables.get(0), floats)).append(";\n");
            b.append("        return ").append(rescale(model, "y", floats)).append(";\n    }\n\n");
            part.body.append(b);
            return part.name + "." + name;
        }
        int[] category = new int[tables.size()];
        for (int i = 0; i < tables.size(); i++) {
            category[i] = classes.indexOf(String.valueOf(tables.get(i).requireTargetCategory()));
            if (category[i] < 0) {
                throw new UnsupportedPmmlException("RegressionTable for unknown class " + tables.get(i).getTargetCategory());
            }
        }
        if (tables.size() != classes.size()) {
            throw new UnsupportedPmmlException(tables.size() + " RegressionTables for " + classes.size() + " classes");
        }
        b.append("    static int ").append(name).append("(double[] v, double[] p) {\n");
        for (int i = 0; i < tables.size(); i++) {
            b.append("        double y").append(i).append(" = ").append(table(tables.get(i), floats)).append(";\n");
            b.append("        if (y").append(i).append(" != y").append(i).append(") return -1;\n");
        }
        if (tables.size() == 2 && norm == RegressionModel.NormalizationMethod.LOGIT) {
            b.append("        double q0 = ").append(floats ? "Tri.flogit(y0)" : "Tri.logit(y0)").append(";\n");
            b.append("        double q1 = ").append(floats ? "(double) (1f - (float) q0)" : "1d - q0").append(";\n");
        } else if (norm == RegressionModel.NormalizationMethod.SOFTMAX) {
            b.append("        double max = y0;\n");
            for (int i = 1; i < tables.size(); i++) {
                b.append("        if (y").append(i).append(" > max) max = y").append(i).append(";\n");
            }
            b.append("        double sum = 0.0;\n");
            for (int i = 0; i < tables.size(); i++) {
                b.append("        double e").append(i).append(" = ").append(floats ? "Tri.fexp(Tri.f(y" + i + " - max))" : "Math.exp(y" + i + " - max)").append(";\n");
                b.append("        sum = ").append(floats ? "Tri.f(sum + e" + i + ")" : "sum + e" + i).append(";\n");
            }
            for (int i = 0; i < tables.size(); i++) {
                b.append("        double q").append(i).append(" = ").append(floats ? "Tri.f(e" + i + " / sum)" : "e" + i + " / sum").append(";\n");
            }
        } else {
            throw new UnsupportedPmmlException("classification RegressionModel with " + tables.size()
                + " tables and normalization " + norm.value());
        }
        for (int i = 0; i < tables.size(); i++) {
            b.append("        p[").append(category[i]).append("] = q").append(i).append(";\n");
        }
        b.append("        int best = ").append(category[0]).append(";\n        double top = q0;\n");
        for (int i = 1; i < tables.size(); i++) {
            b.append("        if (q").append(i).append(" > top) { top = q").append(i).append("; best = ").append(category[i]).append("; }\n");
        }
        b.append("        return best;\n    }\n\n");
        part.body.append(b);
        return part.name + "." + name;
    }

    private String table(RegressionTable table, boolean floats) throws UnsupportedPmmlException {
        if (table.hasPredictorTerms()) {
            throw new UnsupportedPmmlException("PredictorTerm");
        }
        // JPMML-Evaluator's order (RegressionTableUtil): from zero, the numeric terms, the
        // categorical ones, the intercept last; floating-point sums depend on it.
        double intercept = table.requireIntercept().doubleValue();
        String sum = "0.0d";
        for (org.dmg.pmml.regression.NumericPredictor p : table.getNumericPredictors()) {
            if (p.getExponent() != null && p.getExponent() != 1) {
                throw new UnsupportedPmmlException("NumericPredictor exponent " + p.getExponent());
            }
            String x = "v[" + numericSlot(p.requireField()) + "]";
            double c = p.requireCoefficient().doubleValue();
            sum = floats ? "Tri.f(" + sum + " + Tri.f(" + lit((float) c) + " * " + x + "))" : sum + " + " + lit(c) + " * " + x;
        }
        for (org.dmg.pmml.regression.CategoricalPredictor p : table.getCategoricalPredictors()) {
            int slot = slotOf(p.requireField());
            double code = constant(slot, String.valueOf(p.requireValue()));
            double c = p.requireCoefficient().doubleValue();
            String term = "Norms.indicator(v[" + slot + "], " + lit(code) + ") * " + lit(floats ? (float) c : c);
            sum = floats ? "Tri.f(" + sum + " + Tri.f(" + term + "))" : sum + " + " + term;
        }
        if (intercept != 0.0) {
            sum = floats ? "Tri.f(" + sum + " + " + lit((float) intercept) + ")" : "(" + sum + ") + " + lit(intercept);
        }
        return sum;
    }

    // output ---------------------------------------------------------------------------------------
    private static String cast(String value, DataType type) {
        return type == DataType.FLOAT ? "(double) (float) " + value : value;
    }

    static String lit(double d) {
        if (Double.isNaN(d)) {
            return "Double.NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Double.POSITIVE_INFINITY" : "Double.NEGATIVE_INFINITY";
        }
        return Double.toString(d) + "d";
    }

    private String mainClass(String ref, boolean classification, List<String> outputNames, List<String> outputCode,
                             List<Boolean> labels) {
        StringBuilder s = new StringBuilder();
        if (!packageName.isEmpty()) {
            s.append("package ").append(packageName).append(";\n\n");
        }
        s.append("import io.jarscore.kernel.Norms;\nimport io.jarscore.kernel.Tri;\n\n");
        s.append("/** Generated by jarscore's KernelCompiler; do not edit. */\n");
        boolean blocks = forest != null && forest.trees() > 0 && !plan.isEmpty();
        for (int e = 0; blocks && e < plan.size(); e += 3) {
            blocks = !forest.reads(plan.get(e + 1), plan.get(e + 2), chainSlots);
        }
        s.append("public final class ").append(simpleName).append(" implements io.jarscore.kernel.")
            .append(blocks ? "BlockKernel" : "Kernel").append(" {\n\n");
        s.append("    private static final String[] INPUTS = ").append(strings(inputNames)).append(";\n");
        s.append("    private static final String[][] TABLES = {");
        for (List<String> table : tables) {
            s.append(table == null ? "null" : strings(table)).append(", ");
        }
        s.append("};\n");
        s.append("    private static final String[] OUTPUTS = ").append(strings(outputNames)).append(";\n");
        s.append("    private static final String[][] LABELS = {");
        for (Boolean label : labels) {
            s.append(label ? strings(classes) : "null").append(", ");
        }
        s.append("};\n\n");
        if (forest != null && forest.trees() > 0) {
            s.append("    static final io.jarscore.kernel.Forest FOREST = io.jarscore.kernel.Forest.read(")
                .append(simpleName).append(".class, \"").append(simpleName).append(".forest\");\n\n");
        }
        s.append("    public String[] inputNames() { return INPUTS.clone(); }\n");
        s.append("    public String[][] inputCategories() { return TABLES.clone(); }\n");
        s.append("    public String[] outputNames() { return OUTPUTS.clone(); }\n");
        s.append("    public String[][] outputLabels() { return LABELS.clone(); }\n\n");
        int width = Math.max(1, slots.size());
        s.append("    public void score(double[] in, int o, double[] out, int oo) {\n");
        s.append("        double[] v = new double[").append(width).append("];\n");
        s.append("        if (slots(in, o, v, out, oo)) {\n            finish(v, out, oo);\n        }\n    }\n\n");
        s.append("    public int slotCount() { return ").append(width).append("; }\n\n");
        s.append("    public boolean slots(double[] in, int o, double[] v, double[] out, int oo) {\n");
        int chunks = (inputNames.size() + 63) / 64;
        for (int i = 0; i < chunks; i++) {
            s.append("        if (!in").append(i).append("(in, o, v)) { invalid(out, oo); return false; }\n");
        }
        if (!derivedDefinitions.isEmpty()) {
            s.append("        derive(v);\n");
        }
        s.append("        return true;\n    }\n\n");
        s.append("    public void finish(double[] v, double[] out, int oo) {\n");
        if (classification) {
            s.append("        double[] p = new double[").append(classes.size()).append("];\n");
            s.append("        int label = ").append(ref).append("(v, p);\n");
        } else {
            s.append("        double r = ").append(ref).append("(v);\n");
        }
        for (int j = 0; j < outputCode.size(); j++) {
            s.append("        out[oo + ").append(j).append("] = ").append(outputCode.get(j)).append(";\n");
        }
        s.append("    }\n\n");
        if (blocks) {
            s.append("    private static final int[] PLAN = {");
            for (int x : plan) {
                s.append(x).append(", ");
            }
            s.append("};\n\n");
            s.append("    public void scoreRange(double[] in, int from, int to, double[] out) {\n");
            s.append("        FOREST.scoreBlocks(this, PLAN, in, from, to, out);\n    }\n\n");
        }
        if (forest != null && forest.trees() > 0) {
            // the rows' slots as score fills them; rows it would not score are left out
            s.append("    public void learn(double[] in, int rows) {\n");
            s.append("        double[][] vs = new double[rows][];\n        int kept = 0;\n");
            s.append("        rows: for (int r = 0; r < rows; r++) {\n");
            s.append("            double[] v = new double[").append(Math.max(1, slots.size())).append("];\n");
            s.append("            java.util.Arrays.fill(v, Double.NaN);\n");
            for (int i = 0; i < chunks; i++) {
                s.append("            if (!in").append(i).append("(in, r * INPUTS.length, v)) continue rows;\n");
            }
            if (!derivedDefinitions.isEmpty()) {
                s.append("            derive(v);\n");
            }
            s.append("            vs[kept++] = v;\n        }\n");
            s.append("        FOREST.learn(java.util.Arrays.copyOf(vs, kept));\n    }\n\n");
        }
        s.append("    private static void invalid(double[] out, int oo) {\n");
        s.append("        java.util.Arrays.fill(out, oo, oo + ").append(outputCode.size()).append(", Double.NaN);\n    }\n\n");
        s.append(prepare);
        if (!derivedCode.isEmpty()) {
            s.append("    private static void derive(double[] v) {\n");
            for (String line : derivedCode) {
                s.append("        ").append(line).append("\n");
            }
            s.append("    }\n");
        }
        s.append("}\n");
        return s.toString();
    }

    private static String strings(List<String> values) {
        StringBuilder s = new StringBuilder("new String[]{");
        for (String v : values) {
            s.append('"').append(escape(v)).append("\", ");
        }
        return s.append('}').toString();
    }

    private static String escape(String v) {
        StringBuilder s = new StringBuilder();
        for (char ch : v.toCharArray()) {
            if (ch == '"' || ch == '\\') {
                s.append('\\').append(ch);
            } else if (ch < 32 || ch > 126) {
                s.append(String.format("\\u%04x", (int) ch));
            } else {
                s.append(ch);
            }
        }
        return s.toString();
    }

    private static double parse(Number n, Kind kind) {
        return kind == Kind.FLOAT ? (double) n.floatValue() : n.doubleValue();
    }
}
