package io.jarscore.registry;

/**
 * Keys, their stable hash (unsigned, as text) and their route under weights {1: 1, 2: 3}. The same
 * table is in tests/test_registry.py: Python and Java must send every key to the same version.
 */
final class RouterHashes {

    static final Object[][] TABLE = {
        {"", "17280346270528514342", 2},
        {"a", "9413272369427828315", 2},
        {"customer-1", "12536098675308940762", 2},
        {"customer-2", "6581445007524616435", 2},
        {"user:42", "11063118593313047112", 1},
        {"Z\u00fcrich", "2644220054110733776", 1},
        {"\u65e5\u672c\u8a9e", "16218896763332251880", 1},
        {"0", "13971339156589058860", 1},
        {"a much longer request key with spaces", "10993704802516156708", 1},
        {"customer-1000", "14375663875796455323", 2},
    };

    private RouterHashes() {
    }
}
