package io.crmcore;

/** The caller's input is wrong; the message names the field (CRM_EINVALID). */
public class InvalidInputException extends CrmException {
    private static final long serialVersionUID = 1L;

    public InvalidInputException(String message) {
        super(INVALID, message);
    }
}
