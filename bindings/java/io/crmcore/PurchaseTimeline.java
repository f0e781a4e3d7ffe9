package io.crmcore;

/** When the person means to buy (crm_purchase_timeline). */
public enum PurchaseTimeline {
    UNKNOWN("unknown"),
    /** within a month */
    WITHIN_1M("within_1m"),
    /** in one to three months */
    IN_1_3M("1_3m"),
    /** in three to six months */
    IN_3_6M("3_6m"),
    /** later than six months */
    OVER_6M("over_6m");

    private final String wireName;

    PurchaseTimeline(String wireName) {
        this.wireName = wireName;
    }

    /** The name used in JSON ("within_1m", "1_3m", ...). */
    public String wireName() {
        return wireName;
    }

    /** The timeline with a library number; UNKNOWN for any other number. */
    public static PurchaseTimeline fromCode(int code) {
        PurchaseTimeline[] all = values();
        return code >= 0 && code < all.length ? all[code] : UNKNOWN;
    }

    @Override
    public String toString() {
        return wireName;
    }
}
