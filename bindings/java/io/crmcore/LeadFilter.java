package io.crmcore;

import java.time.Instant;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Which leads {@link Crm#leads(LeadFilter)} returns. Every criterion is
 * optional; the setters return the filter so they chain:
 * {@code new LeadFilter().statuses(LeadStatus.NEW).qualities("ok").channel("website").limit(50)}.
 */
public final class LeadFilter {
    private final EnumSet<LeadStatus> statuses = EnumSet.noneOf(LeadStatus.class);
    private final Set<String> qualities = new LinkedHashSet<>();
    private int qualityBits;
    private String dealerId;
    private String channel;
    private long createdFrom;
    private long createdTo;
    private long limit;

    /** Only leads in one of these statuses (none given: every status). Adds to earlier calls. */
    public LeadFilter statuses(LeadStatus... wanted) {
        for (LeadStatus s : wanted)
            statuses.add(s);
        return this;
    }

    /**
     * Only leads of one of these qualities, by name: "ok", "suspect", "junk"
     * (none given: every quality). Adds to earlier calls.
     *
     * @throws InvalidInputException naming an unknown (or null) name; the filter is then unchanged
     */
    public LeadFilter qualities(String... wanted) {
        int bits = 0;
        for (String q : wanted)
            bits |= 1 << CrmNative.qualityParse(q);
        qualityBits |= bits;
        for (String q : wanted)
            qualities.add(q);
        return this;
    }

    /** Only this dealer's leads (null: any dealer in the handle's scope). */
    public LeadFilter dealerId(String dealerId) {
        this.dealerId = dealerId;
        return this;
    }

    /** Only leads from this channel (null: any). */
    public LeadFilter channel(String channel) {
        this.channel = channel;
        return this;
    }

    /** Only leads created at or after this time (Unix ms; 0: no bound). */
    public LeadFilter createdFrom(long unixMs) {
        this.createdFrom = unixMs;
        return this;
    }

    public LeadFilter createdFrom(Instant t) {
        return createdFrom(t.toEpochMilli());
    }

    /** Only leads created before this time (Unix ms; 0: no bound). */
    public LeadFilter createdTo(long unixMs) {
        this.createdTo = unixMs;
        return this;
    }

    public LeadFilter createdTo(Instant t) {
        return createdTo(t.toEpochMilli());
    }

    /** At most this many leads (0: no limit). */
    public LeadFilter limit(long limit) {
        this.limit = limit;
        return this;
    }

    /** The wanted statuses; empty means every status. A copy. */
    public Set<LeadStatus> getStatuses() { return EnumSet.copyOf(statuses); }
    /** The wanted qualities' names, in the order first given; empty means every quality. A copy. */
    public Set<String> getQualities() { return new LinkedHashSet<>(qualities); }
    public String getDealerId() { return dealerId; }
    public String getChannel() { return channel; }
    public long getCreatedFrom() { return createdFrom; }
    public long getCreatedTo() { return createdTo; }
    public long getLimit() { return limit; }

    /* The library's bitmask: bit (1 << status) per wanted status, 0 for all. */
    int statusBits() {
        int bits = 0;
        for (LeadStatus s : statuses)
            bits |= 1 << s.code();
        return bits;
    }

    /* The library's bitmask: bit (1 << quality) per wanted quality, 0 for all. */
    int qualityBits() {
        return qualityBits;
    }
}
