package io.crmcore;

/** Where a lead is in its life (crm_lead_status). */
public enum LeadStatus {
    NEW("new"),
    ASSIGNED("assigned"),
    CONTACTED("contacted"),
    /** came to the store */
    VISITED("visited"),
    TEST_DRIVE("test_drive"),
    ORDERED("ordered"),
    DELIVERED("delivered"),
    LOST("lost"),
    INVALID("invalid");

    private final String wireName;

    LeadStatus(String wireName) {
        this.wireName = wireName;
    }

    /** The name used in JSON and by the library ("new", "test_drive", ...). */
    public String wireName() {
        return wireName;
    }

    /** The library's number for the status (its position here). */
    public int code() {
        return ordinal();
    }

    /** The status with a library number. */
    public static LeadStatus fromCode(int code) {
        LeadStatus[] all = values();
        if (code < 0 || code >= all.length)
            throw new IllegalArgumentException("unknown lead status " + code);
        return all[code];
    }

    /** The status with a JSON name. */
    public static LeadStatus fromWireName(String name) {
        for (LeadStatus s : values())
            if (s.wireName.equals(name))
                return s;
        throw new InvalidInputException("status: unknown status \"" + name + "\"");
    }

    @Override
    public String toString() {
        return wireName;
    }
}
