Feature: Enrollment
  A device enrolls its logged-in user for mobile authentication by sending a certificate signing
  request (CSR) for its own P-256 key. The server answers with a certificate from its
  mobile-authentication CA. A device can read and delete its own enrollment.

  @ENR-001 @ENR-002 @must
  Scenario: A logged-in user enrolls a device
    Given "Alice" is logged in on the device "phone"
    When "phone" enrolls
    Then the enrollment is created for "Alice"
    And the enrollment answer names "phone" and an enrollment id not seen before
    And "phone" holds a certificate for its own key issued by the server's CA
    And the server reports "phone" as enrolled for "Alice"

  @ENR-001 @must @server-wide
  Scenario: Every enrollment gets an enrollment id of its own
    Given the server's enrollment mode is "multiple_devices"
    And "Alice" has enrolled the device "phone"
    And "Bob" has enrolled the device "tablet"
    When "Alice" is logged in on the device "laptop"
    And "laptop" enrolls
    Then the enrollment is created for "Alice"
    And the enrollment answer names "laptop" and an enrollment id not seen before

  @ENR-003 @should @server-wide
  Scenario: Issued certificates follow the end-entity profile, with serial numbers of their own
    Given the server's enrollment mode is "multiple_devices"
    And "Alice" has enrolled the device "phone"
    And "Alice" has enrolled the device "tablet"
    Then the certificates of "phone" and "tablet" have different serial numbers
    And the certificate of "phone" is valid at its enrolled_at, is not a CA certificate and allows digital signatures

  @AUTH-008 @must
  Scenario: A device without an access token cannot enroll
    Given the device "phone" with no user logged in
    When "phone" sends an enrollment request without an access token
    Then the request is refused with status 401, error 9010 USER_NOT_AUTHENTICATED

  Scenario Outline: A malformed enrollment body is refused: <body>
    Given "Alice" is logged in on the device "phone"
    When "phone" sends an enrollment body that is <body>
    Then the request is refused with status 400, error 10015 INVALID_REQUEST
    And the server reports "phone" as not enrolled

    @ENR-004 @must
    Examples:
      | body                                                         |
      | a JSON array of its device id and CSR                        |
      | a JSON string                                                |
      | an object without device_id                                  |
      | an object without csr                                        |
      | an object whose device_id is a number                        |
      | an object whose csr is a number                              |
      | an object whose device_id and CSR common name are not a UUID |
      | an object whose device_id and CSR common name are empty      |

  # The contract spells ids lowercase and hyphenated, but a server may read another spelling of a
  # UUID as that UUID (see "The spelling of device_id" in docs/PROTOCOL.md).
  Scenario Outline: An enrollment naming its device in another spelling of a UUID is taken or refused with 10015: <spelling>
    Given "Alice" is logged in on the device "phone"
    When <request>
    Then the enrollment of "phone" is created for "Alice" or refused with status 400, error 10015 INVALID_REQUEST

    @ENR-004 @must
    Examples: the body's device_id, with the CSR's common name alike
      | spelling        | request                                                                                                  |
      | upper case      | "phone" sends an enrollment body that is an object whose device_id and CSR common name are in upper case |
      | without hyphens | "phone" sends an enrollment body that is an object whose device_id and CSR common name have no hyphens   |

    @ENR-007 @must
    Examples: the CSR's common name only
      | spelling            | request                                                                     |
      | upper case, CN only | "phone" enrolls with a CSR whose common name is its device id in upper case |

  Scenario Outline: A CSR that is not a PEM certificate request for a P-256 key is refused: <csr>
    Given "Alice" is logged in on the device "phone" whose id is the one of the OpenSSL-made CSRs
    When "phone" enrolls with <csr>
    Then the request is refused with status 400, error 10015 INVALID_REQUEST
    And the server reports "phone" as not enrolled

    @ENR-005 @must
    Examples:
      | csr                                                   |
      | the text "this is not a certificate request"          |
      | its CSR in a PEM block labelled CERTIFICATE           |
      | a PEM certificate request whose content is not base64 |
      | a PEM certificate request holding half of its CSR     |
      | the OpenSSL-made CSR "csr-p384.pem" for a P-384 key   |
      | the OpenSSL-made CSR "csr-rsa2048.pem" for an RSA key |

  @ENR-005 @must
  Scenario: A CSR in RFC 7468's strict form is read
    Given "Alice" is logged in on the device "phone"
    When "phone" enrolls with its CSR in RFC 7468's strict form
    Then the enrollment is created for "Alice"
    And "phone" holds a certificate for its own key issued by the server's CA

  # OpenSSL reads these forms, and Android, iOS and Java send some of them; RFC 7468 lets a parser
  # refuse them (see "Lax PEM" in docs/PROTOCOL.md).
  Scenario Outline: A CSR in a lax PEM form is read or refused with 10015: <form>
    Given "Alice" is logged in on the device "phone"
    When "phone" enrolls with its CSR <form>
    Then the enrollment of "phone" is created for "Alice" or refused with status 400, error 10015 INVALID_REQUEST

    @ENR-005 @must
    Examples:
      | form                                     |
      | with base64 lines of 76 characters       |
      | with its base64 on one line              |
      | labelled NEW CERTIFICATE REQUEST         |
      | with text before and after its PEM block |

  @ENR-006 @must
  Scenario: A CSR whose self-signature does not verify is refused
    Given "Alice" is logged in on the device "phone"
    When "phone" enrolls with a CSR whose self-signature does not verify
    Then the request is refused with status 400, error 10015 INVALID_REQUEST
    And the server reports "phone" as not enrolled

  @ENR-006 @must
  Scenario: A key and CSR made by OpenSSL, self-signed with ecdsa-with-SHA256, are accepted and answer OTPs
    Given "Alice" is logged in on the device "phone" whose id is the one of the OpenSSL-made CSRs
    When "phone" enrolls with the OpenSSL-made key and CSR "csr.pem"
    Then the enrollment is created for "Alice"
    And "phone" holds a certificate for its own key issued by the server's CA
    And "phone" answering a new OTP gets "accepted"

  Scenario Outline: A CSR whose subject is not exactly one CN equal to the device id is refused: <csr>
    Given "Alice" is logged in on the device "phone"
    When "phone" enrolls with <csr>
    Then the request is refused with status 400, error 10015 INVALID_REQUEST
    And the server reports "phone" as not enrolled

    @ENR-007 @must
    Examples:
      | csr                                                         |
      | a CSR whose common name is another device's id              |
      | a CSR with its device id as organisation and no common name |
      | a CSR with its device id as common name twice               |

  @ENR-008 @must @server-wide
  Scenario: While enrollment is disabled, enrolling is refused
    Given "Alice" is logged in on the device "phone"
    And enrollment is disabled on the server
    When "phone" enrolls
    Then the request is refused with status 403, error 9017 ENROLLMENT_NOT_AVAILABLE
    And the server reports "phone" as not enrolled

  @ENR-008 @must @server-wide
  Scenario: While mobile authentication is disabled, enrolling is refused
    Given "Alice" is logged in on the device "phone"
    And mobile authentication is disabled on the server
    When "phone" enrolls
    Then the request is refused with status 403, error 9017 ENROLLMENT_NOT_AVAILABLE
    And the server reports "phone" as not enrolled

  @server-wide
  Scenario Outline: The earliest failing enrollment check gives the reply: <problems>
    Given "Alice" has enrolled the device "phone"
    When "phone" enrolls again with <problems>
    Then the enrollment gets "<reply>"
    And the server reports "phone" as enrolled for "Alice"

    # "phone" is already enrolled, so every row also breaks the single_device rule (9016).
    @ENR-009 @must
    Examples:
      | problems                                                     | reply                             |
      | no access token, enrollment disabled, a CSR that is not PEM  | 401 9010 USER_NOT_AUTHENTICATED   |
      | enrollment disabled, a CSR that is not PEM                   | 403 9017 ENROLLMENT_NOT_AVAILABLE |
      | mobile authentication disabled, a body that is not an object | 403 9017 ENROLLMENT_NOT_AVAILABLE |
      | a body that is not an object                                 | 400 10015 INVALID_REQUEST         |
      | a device_id that is not a UUID                               | 400 10015 INVALID_REQUEST         |
      | a CSR that is not PEM                                        | 400 10015 INVALID_REQUEST         |
      | a CSR for another device id                                  | 400 10015 INVALID_REQUEST         |
      | nothing else                                                 | 409 9016 DEVICE_ALREADY_ENROLLED  |

  @ENR-010 @must @server-wide
  Scenario: Reading an enrollment gives the time and the certificate of the latest enrollment
    Given the server's enrollment mode is "override_allowed"
    And "Alice" has enrolled the device "phone"
    Then the server reports "phone" as enrolled for "Alice" at the time of its latest enrollment, with the certificate issued then
    When the server's clock moves on by 60000 ms
    And "phone" enrolls again
    Then "phone" is re-enrolled with a new enrollment and a certificate for its new key
    And the server reports "phone" as enrolled for "Alice" at the time of its latest enrollment, with the certificate issued then

  @ENR-011 @must
  Scenario: A device that never enrolled reads and deletes as not enrolled
    Given "Alice" is logged in on the device "phone"
    When "Alice" reads the enrollment of "phone"
    Then the enrollment call gets "404 9021 MOBILE_AUTHENTICATION_NOT_ENROLLED"
    When "Alice" deletes the enrollment of "phone"
    Then the enrollment call gets "404 9021 MOBILE_AUTHENTICATION_NOT_ENROLLED"

  @server-wide
  Scenario Outline: An enrollment that is not the user's own reads and deletes as not enrolled: <situation>
    Given the server's enrollment mode is "override_allowed"
    And "Alice" has enrolled the device "phone"
    And "Bob" has enrolled the device "tablet"
    And <situation>
    When "<caller>" reads the enrollment of "phone"
    Then the enrollment call gets "404 9021 MOBILE_AUTHENTICATION_NOT_ENROLLED"
    When "<caller>" deletes the enrollment of "phone"
    Then the enrollment call gets "404 9021 MOBILE_AUTHENTICATION_NOT_ENROLLED"
    And the server reports "phone" as <afterwards>

    @ENR-011 @must
    Examples:
      | situation                                            | caller | afterwards           |
      | "phone" is removed by its own request                | Alice  | not enrolled         |
      | "phone" is removed by the admin                      | Alice  | not enrolled         |
      | "phone" is disenrolled by another device of its user | Alice  | not enrolled         |
      | nothing happens to "phone"                           | Bob    | enrolled for "Alice" |

  @ENR-012 @must
  Scenario: A device deletes its own enrollment, and is then not enrolled on every call
    Given "Alice" has enrolled the device "phone"
    And the portal has started a QR-code OTP
    And "phone" has scanned the QR code and fetched the request
    When "phone" deletes its enrollment
    Then the enrollment is deleted with status 204 and no body
    And the server reports "phone" as not enrolled
    When "phone" answers "accept" signed with its previous key
    Then the request is refused with status 403, error 9021 MOBILE_AUTHENTICATION_NOT_ENROLLED
    When "phone" handles the OTP
    Then the request is refused with status 403, error 9021 MOBILE_AUTHENTICATION_NOT_ENROLLED
    And the transaction is still pending

  Scenario Outline: A removed device enrolls again as a new enrollment: <situation>
    Given "Alice" has enrolled the device "phone"
    And <situation>
    When "phone" enrolls again
    Then the enrollment is created anew for "Alice"
    And "phone" answering a new OTP gets "accepted"

    @ENR-013 @must
    Examples:
      | situation                             |
      | "phone" is removed by its own request |
      | "phone" is removed by the admin       |

  @ENR-013 @must @server-wide
  Scenario: A disenrolled device enrolls again, and under override_allowed the device that replaced it is disenrolled in turn
    Given the server's enrollment mode is "override_allowed"
    And "Alice" has enrolled the device "phone"
    And "phone" is disenrolled by another device of its user
    When "phone" enrolls again
    Then the enrollment is created anew for "Alice"
    And "phone" answering a new OTP gets "accepted"
    And the device that replaced "phone" answering a new OTP gets "403 9023 MOBILE_AUTHENTICATION_DISENROLLED"
