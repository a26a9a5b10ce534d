"""Answers to « Qu'est-ce qui vous manque le plus ? » written the way respondents write them (typos, no accents,
several needs in one answer, names and phone numbers, off-topic answers), each with the themes of the real
taxonomy (offers/data/taxonomy.json) an analyst would file it under; () = nothing to file (unclassified).

Written before the grouping threshold was chosen and never edited to fit the classifier: the tests measure the
share it groups correctly and assert a floor (see test_open_answers.py).
"""

LABELLED_ANSWERS: list[tuple[str, tuple[str, ...]]] = [
    # Childcare
    ("Une crèche !!", ("childcare",)),
    ("pas de place en creche pour mon fils, on attend depuis 1 an", ("childcare",)),
    ("Une nounou ou une assistante maternelle disponible le mercredi", ("childcare",)),
    ("micro creche sur la commune", ("childcare",)),
    ("mode de garde pour les enfants de moins de 3 ans", ("childcare",)),
    ("un accueil de loisirs pendant les vacances pour les petits", ("childcare",)),
    # Health
    ("Un médecin traitant, le notre est parti à la retraite", ("health-care",)),
    ("medecin generaliste !!! 45 min de route pour en voir un", ("health-care",)),
    ("un dentiste et un kiné", ("health-care",)),
    ("Les urgences sont trop loin, l'hopital à 1h", ("health-care",)),
    ("une pharmacie de garde le dimanche", ("health-care",)),
    ("des specialistes : ophtalmo, gyneco... 6 mois d'attente", ("health-care",)),
    # Digital
    ("La fibre !", ("digital",)),
    ("internet haut debit, on est encore en ADSL a 2 mega", ("digital",)),
    ("une connexion internet correcte pour télétravailler", ("digital", "coworking")),
    ("le reseau mobile, pas de 4G dans le bourg", ("digital",)),
    (
        "de l'aide pour les demarches en ligne, je ne sais pas me servir d'un ordinateur",
        ("digital", "social-services"),
    ),
    # Housing
    ("Des logements à louer, rien de libre à Guéret", ("rent",)),
    ("un appartement T2 en location pas trop cher", ("rent",)),
    ("logement social pour ma fille", ("social-housing",)),
    ("des HLM rénovés", ("social-housing",)),
    ("un terrain constructible pour faire construire", ("building-plot",)),
    ("acheter une maison a renover mais les prix ont augmente", ("buy",)),
    ("Un logement pour les saisonniers et les stagiaires", ("temporary-housing",)),
    # Mobility
    ("des bus !!", ("mobility",)),
    ("le train pour aller a Limoges, il n'y en a plus que 2 par jour", ("mobility",)),
    ("transport en commun le dimanche", ("mobility",)),
    ("du covoiturage organisé ou un transport à la demande", ("mobility",)),
    ("des pistes cyclables pour aller au travail en velo", ("mobility",)),
    ("Sans voiture on ne peut rien faire ici", ("mobility",)),
    # Several needs in one answer
    ("une crèche et un médecin", ("childcare", "health-care")),
    ("la fibre et des bus", ("digital", "mobility")),
    ("Medecin, creche", ("health-care", "childcare")),
    ("un logement a louer + du travail pour mon conjoint", ("rent", "salaried-job")),
    ("cinéma et piscine", ("cultural-venue", "sport")),
    ("Des commerces de proximité et un distributeur, et aussi un docteur", ("shops", "health-care")),
    # Jobs
    ("Du travail ! pas d'offres d'emploi dans mon métier", ("salaried-job",)),
    ("un emploi en CDI pour mon mari", ("salaried-job",)),
    ("un espace de coworking avec une bonne connexion", ("coworking", "digital")),
    ("une formation en alternance pres de chez moi", ("training",)),
    ("de l'aide pour créer mon entreprise", ("business-creation",)),
    ("un repreneur pour le bar du village", ("business-takeover",)),
    # Shops and services
    ("une boulangerie, la dernière a fermé", ("shops",)),
    ("Une épicerie ou un petit supermarché", ("shops",)),
    ("un bureau de poste ouvert le samedi", ("shops",)),
    ("le marché du samedi avec des producteurs locaux", ("shops",)),
    # Culture, sport, leisure
    ("un cinema", ("cultural-venue",)),
    ("Des concerts et des spectacles", ("cultural-event",)),
    ("une bibliothèque ouverte le week-end", ("cultural-venue",)),
    ("des cours de danse pour adultes", ("cultural-practice",)),
    ("une piscine couverte ouverte toute l'année", ("sport",)),
    ("un club de foot pour les enfants", ("sport",)),
    ("des sentiers de randonnée balisés", ("leisure-activity",)),
    # Schools, social services
    ("le college est trop loin, 1h de car scolaire", ("schools", "mobility")),
    ("une cantine et du périscolaire le soir", ("schools",)),
    ("de l'aide pour les personnes âgées dépendantes, pour mes parents", ("social-services",)),
    # Off-topic, personal data, nothing to file
    ("Rien, tout va bien", ()),
    ("Je ne sais pas", ()),
    ("Appelez-moi au 06 12 34 56 78, Mme Durand", ()),
    ("ma famille qui habite à Lyon", ()),
    ("la mer :)", ()),
    ("nsp", ()),
]
