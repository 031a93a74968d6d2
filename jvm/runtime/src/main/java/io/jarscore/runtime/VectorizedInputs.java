package io.jarscore.runtime;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamReader;

/**
 * JPMML-Transpiler folds input fields named {@code x_0, x_1, ...} into one list-valued field {@code x}.
 * Callers keep sending the fields the PMML declares; this maps each folded field back to its elements,
 * read from the DataDictionary of the artifact's PMML (model.pmml.gz, or model.pmml in format 1).
 */
final class VectorizedInputs {

    private static final Pattern ELEMENT = Pattern.compile("(.+)_(\\d+)");

    private VectorizedInputs() {
    }

    /** For each folded field name, its element field names by index (gaps allowed), from the PMML. */
    static Map<String, TreeMap<Integer, FieldDeclaration>> fromPmml(Path pmml) {
        Map<String, TreeMap<Integer, FieldDeclaration>> vectors = new LinkedHashMap<>();
        if (pmml == null || !Files.isRegularFile(pmml)) {
            return vectors;
        }
        XMLInputFactory factory = PmmlLimits.secureFactory();
        try (InputStream in = PmmlLimits.open(pmml)) {
            XMLStreamReader reader = factory.createXMLStreamReader(in);
            while (reader.hasNext()) {
                int event = reader.next();
                if (event == XMLStreamConstants.END_ELEMENT && reader.getLocalName().equals("DataDictionary")) {
                    break;
                }
                if (event == XMLStreamConstants.START_ELEMENT && reader.getLocalName().equals("DataField")) {
                    Matcher m = ELEMENT.matcher(reader.getAttributeValue(null, "name"));
                    if (m.matches()) {
                        vectors.computeIfAbsent(m.group(1), k -> new TreeMap<>()).put(Integer.parseInt(m.group(2)),
                            new FieldDeclaration(m.group(0), reader.getAttributeValue(null, "dataType"),
                                reader.getAttributeValue(null, "optype")));
                    }
                }
            }
            reader.close();
        } catch (Exception e) {
            throw new ArtifactException("cannot read the DataDictionary of " + pmml + ": " + Model.describe(e), e);
        }
        return vectors;
    }

    record FieldDeclaration(String name, String dataType, String opType) {
    }
}
