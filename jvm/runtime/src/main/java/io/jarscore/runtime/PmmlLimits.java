package io.jarscore.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

import javax.xml.stream.Location;
import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;

import com.ctc.wstx.api.WstxInputProperties;
import com.ctc.wstx.stax.WstxInputFactory;
import org.codehaus.stax2.XMLInputFactory2;

/**
 * Size limits on a PMML file, checked in one streaming StAX pass before JAXB builds anything from it.
 * Without them one 32 MB attribute takes a convert to ~1 GB of heap and ends in an unrelated error.
 * The pass reads with Woodstox, whose attribute and text limits stop a value as it grows past them:
 * the JDK's own StAX parser has no attribute length limit (its {@code jdk.xml.*} size limits apply to
 * entities only) and reads a whole value before handing it out, so memory stays bounded by the limits
 * whatever the file holds.
 *
 * <p>Defaults, measured on the conformance corpus (tests/data/jpmml-conformance/pmml): LightGBMAudit
 * (71 trees) is 409 KB, 5 558 elements, depth 20, i.e. ~5.8 KB and ~78 elements per boosted tree;
 * RandomForestAudit (17 unpruned trees) is 3.1 MB, 40 861 elements, depth 45, i.e. ~184 KB and ~2 400
 * elements per deep tree. The longest attribute value there is 47 characters, the longest text 121.
 * A 5 000-tree model is then ~29 MB / 0.4 M elements (boosted) up to ~0.9 GB / 12 M elements (deep
 * forest). So: file 2 GiB and 50 M elements (over 2x the deep 5 000-tree forest, 70x the boosted one);
 * depth 1 000 (a tree is nested one Node per level; 20x the corpus' deepest); attribute 1 MiB (values
 * are names, numbers and short expressions: 20 000x the corpus' longest); text 16 MiB (an Array of
 * a million numbers or categories). Each limit is raised by its system property, e.g.
 * {@code -Djarscore.pmml.maxAttributeLength=4194304}.
 */
public final class PmmlLimits {

    public static final String MAX_FILE_BYTES = "jarscore.pmml.maxFileBytes";
    public static final String MAX_ELEMENTS = "jarscore.pmml.maxElements";
    public static final String MAX_DEPTH = "jarscore.pmml.maxDepth";
    public static final String MAX_ATTRIBUTE_LENGTH = "jarscore.pmml.maxAttributeLength";
    public static final String MAX_TEXT_LENGTH = "jarscore.pmml.maxTextLength";

    static final long DEFAULT_MAX_FILE_BYTES = 2L << 30;
    static final long DEFAULT_MAX_ELEMENTS = 50_000_000L;
    static final long DEFAULT_MAX_DEPTH = 1_000L;
    static final long DEFAULT_MAX_ATTRIBUTE_LENGTH = 1L << 20;
    static final long DEFAULT_MAX_TEXT_LENGTH = 16L << 20;
    /** How Woodstox 7's limit violations start (StreamScanner.constructLimitViolation). */
    private static final String WOODSTOX_ATTRIBUTE_LIMIT = "Maximum attribute size limit";
    private static final String WOODSTOX_TEXT_LIMIT = "Text size limit";

    private PmmlLimits() {
    }

    /**
     * The JDK's StAX factory, reading no DTD and no external entity: PMML is data. (The JDK's, not
     * whatever the classpath's service files name first, Woodstox included.)
     */
    public static XMLInputFactory secureFactory() {
        return secure(XMLInputFactory.newDefaultFactory());
    }

    private static XMLInputFactory secure(XMLInputFactory factory) {
        factory.setProperty(XMLInputFactory.SUPPORT_DTD, false);
        factory.setProperty(XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, false);
        factory.setProperty(XMLInputFactory.IS_COALESCING, false);
        return factory;
    }

    /**
     * Woodstox with the attribute and text limits enforced while it reads; depth and element counts
     * are left to {@link #check}, whose messages say more.
     */
    private static XMLInputFactory limitedFactory(long maxAttribute, long maxText) {
        XMLInputFactory factory = secure(new WstxInputFactory());
        factory.setProperty(XMLInputFactory2.P_LAZY_PARSING, false);
        factory.setProperty(WstxInputProperties.P_MAX_ATTRIBUTE_SIZE, (int) Math.min(maxAttribute, Integer.MAX_VALUE));
        factory.setProperty(WstxInputProperties.P_MAX_TEXT_LENGTH, (int) Math.min(maxText, Integer.MAX_VALUE));
        factory.setProperty(WstxInputProperties.P_MAX_ELEMENT_DEPTH, Integer.MAX_VALUE);
        return factory;
    }

    /**
     * Reads {@code pmml} once and throws an {@link ArtifactException} naming the first limit it breaks,
     * the value found, where, and the system property that raises the limit. A file that is not
     * well-formed XML is left to the PMML reader, which reports it in its own words.
     */
    public static void check(Path pmml) {
        long maxFileBytes = limit(MAX_FILE_BYTES, DEFAULT_MAX_FILE_BYTES);
        long maxElements = limit(MAX_ELEMENTS, DEFAULT_MAX_ELEMENTS);
        long maxDepth = limit(MAX_DEPTH, DEFAULT_MAX_DEPTH);
        long maxAttribute = limit(MAX_ATTRIBUTE_LENGTH, DEFAULT_MAX_ATTRIBUTE_LENGTH);
        long maxText = limit(MAX_TEXT_LENGTH, DEFAULT_MAX_TEXT_LENGTH);
        long size;
        try {
            size = Files.size(pmml);
        } catch (IOException e) {
            throw new ArtifactException("cannot read PMML file " + pmml + ": " + Model.describe(e), e);
        }
        if (size > maxFileBytes) {
            throw refused(pmml, "the file is " + size + " bytes", MAX_FILE_BYTES, maxFileBytes);
        }
        XMLStreamReader reader = null;
        String element = null;
        try (InputStream in = Files.newInputStream(pmml)) {
            reader = limitedFactory(maxAttribute, maxText).createXMLStreamReader(in);
            long elements = 0;
            long depth = 0;
            long text = 0;
            while (reader.hasNext()) {
                int event = reader.next();
                switch (event) {
                    case XMLStreamConstants.START_ELEMENT -> {
                        element = reader.getLocalName();
                        text = 0;
                        if (++elements > maxElements) {
                            throw refused(pmml, "it has more than " + maxElements + " elements (the next is <"
                                + element + "> at line " + line(reader) + ")", MAX_ELEMENTS, maxElements);
                        }
                        if (++depth > maxDepth) {
                            throw refused(pmml, "<" + element + "> at line " + line(reader)
                                + " is nested " + depth + " elements deep", MAX_DEPTH, maxDepth);
                        }
                    }
                    case XMLStreamConstants.END_ELEMENT -> {
                        depth--;
                        text = 0;
                    }
                    case XMLStreamConstants.CHARACTERS, XMLStreamConstants.CDATA, XMLStreamConstants.SPACE -> {
                        // Not coalescing: a long text arrives in pieces, counted here until the next tag.
                        text += reader.getTextLength();
                        if (text > maxText) {
                            throw refused(pmml, "the text in <" + element + "> near line " + line(reader)
                                + " is at least " + text + " characters long", MAX_TEXT_LENGTH, maxText);
                        }
                    }
                    default -> {
                        // Comments, processing instructions: bounded by the file size.
                    }
                }
            }
        } catch (XMLStreamException e) {
            // Woodstox reports its limits as plain XMLStreamExceptions whose message names the limit;
            // anything else is not well-formed (or a DOCTYPE): the PMML reader that follows reports it in
            // its own words.
            String message = String.valueOf(e.getMessage());
            if (message.startsWith(WOODSTOX_ATTRIBUTE_LIMIT)) {
                throw refused(pmml, "an attribute value at line " + line(reader) + " is longer than " + maxAttribute
                    + " characters", MAX_ATTRIBUTE_LENGTH, maxAttribute);
            }
            if (message.startsWith(WOODSTOX_TEXT_LIMIT)) {
                throw refused(pmml, "the text in <" + element + "> near line " + line(reader) + " is longer than "
                    + maxText + " characters", MAX_TEXT_LENGTH, maxText);
            }
        } catch (IOException e) {
            throw new ArtifactException("cannot read PMML file " + pmml + ": " + Model.describe(e), e);
        } finally {
            if (reader != null) {
                try {
                    reader.close();
                } catch (XMLStreamException ignored) {
                    // Closing releases nothing the stream's own close does not.
                }
            }
        }
    }

    private static long line(XMLStreamReader reader) {
        Location location = reader == null ? null : reader.getLocation();
        return location == null ? -1 : location.getLineNumber();
    }

    private static ArtifactException refused(Path pmml, String found, String property, long limit) {
        String name = property.substring(property.lastIndexOf('.') + 1);
        return new ArtifactException("PMML file " + pmml + " is refused: " + found + ", over the limit " + name
            + " = " + limit + "; if the file is trusted, raise it with -D" + property + "=N");
    }

    private static long limit(String property, long defaultValue) {
        String value = System.getProperty(property);
        if (value == null || value.isBlank()) {
            return defaultValue;
        }
        try {
            long parsed = Long.parseLong(value.trim());
            if (parsed <= 0) {
                throw new NumberFormatException("not positive");
            }
            return parsed;
        } catch (NumberFormatException e) {
            throw new ArtifactException("system property " + property + " must be a positive whole number, not '"
                + value + "'");
        }
    }
}
